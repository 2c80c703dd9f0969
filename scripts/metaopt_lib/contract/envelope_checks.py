"""Semantic rules for handoff envelopes, checked against the machine table and, when given, the state."""
from __future__ import annotations

from . import machine
from .check_util import iteration_path_issue
from .document_checks import check_directive, check_worker_task
from .issues import Issue


def check_envelope(doc, label, ctx):
    src, dst = doc.get("computed_from_state"), doc.get("next_machine_state")
    if src not in machine.STATES or dst not in machine.STATES:
        return []
    agent, out = doc.get("agent"), []
    if machine.governing_agent(src) != agent:
        out.append(Issue(label, ("agent",), "envelope.agent_not_governing", f"{agent} does not govern {src}",
                         f"'{machine.governing_agent(src)}'", "run the handoff of the governing agent"))
    if doc.get("phase") not in machine.phases_of(src):
        out.append(Issue(label, ("phase",), "envelope.phase_not_in_state", f"phase {doc.get('phase')!r} is not a phase of {src}",
                         "one of " + ", ".join(machine.phases_of(src)), "use the phase recorded in state"))
    if not machine.is_allowed(src, dst):
        out.append(Issue(label, ("next_machine_state",), "envelope.transition_not_allowed",
                         f"{src} -> {dst} is not in the transition table",
                         "a transition listed in references/state-machine.md", "pick an allowed next state"))
    if doc.get("next_phase") not in machine.phases_of(dst):
        out.append(Issue(label, ("next_phase",), "envelope.phase_not_in_state",
                         f"next_phase {doc.get('next_phase')!r} is not a phase of {dst}",
                         "one of " + ", ".join(machine.phases_of(dst)), "use a phase of the next state"))
    out += _check_patch_owners(doc, agent, label)
    out += _check_envelope_work(doc, src, dst, label)
    out += _check_nested_documents(doc, label)
    if ctx.state is not None:
        out += _check_against_state(doc, ctx.state, dst, label)
    return out


def _check_nested_documents(doc, label):
    """The directive and worker-task rules apply inside an envelope too, at their nested paths."""
    out = []
    for index, directive in enumerate(doc.get("directives") or []):
        if isinstance(directive, dict):
            out += _rebased(check_directive(directive, label, None), ("directives", index))
        if isinstance(directive, dict) and directive.get("type") == "emit_final_report":
            terminal = (directive.get("payload") or {}).get("terminal_state")
            if terminal != doc.get("next_machine_state"):
                out.append(Issue(label, ("directives", index, "payload", "terminal_state"),
                                 "envelope.final_report_mismatch",
                                 f"final report for {terminal} on a move to {doc.get('next_machine_state')}",
                                 f"'{doc.get('next_machine_state')}'", "report the state the campaign enters"))
    for index, launch in enumerate(doc.get("worker_launches") or []):
        if isinstance(launch, dict) and isinstance(launch.get("task"), dict):
            out += _rebased(check_worker_task(launch["task"], label, None), ("worker_launches", index, "task"))
    return out


def _rebased(issues, prefix):
    return [issue._replace(parts=prefix + issue.parts) for issue in issues]


def _check_patch_owners(doc, agent, label):
    out = []
    for index, op in enumerate(doc.get("state_patch") or []):
        path = op.get("path") if isinstance(op, dict) else None
        if not isinstance(path, str):
            continue
        field = path.split("/")[1].replace("~1", "/").replace("~0", "~")
        if field in machine.HISTORY_OWNERS and (op.get("op") != "append" or path != f"/{field}"):
            out.append(Issue(label, ("state_patch", index), "envelope.history_append_only",
                             f"{op.get('op')} {path}: the history is append-only",
                             f"append at /{field}", "append a new record; records once written never change"))
            continue
        owner = machine.FIELD_OWNERS.get(field) or machine.HISTORY_OWNERS.get(field)
        if owner != agent:
            why = "an engine field" if field in machine.ENGINE_FIELDS else (f"owned by {owner}" if owner else "not a state field")
            out.append(Issue(label, ("state_patch", index, "path"), "envelope.patch_field_not_owned",
                             f"{agent} may not write '{field}' ({why})",
                             "a field owned by " + str(agent), "leave the field to its owner"))
    return out


def _check_envelope_work(doc, src, dst, label):
    out, ids = [], set()
    cleanup = machine.TERMINAL_CLEANUP.get(dst, ()) if dst != src else ()
    allowed_directives = set(machine.STATE_DIRECTIVES.get(src, ())) | set(cleanup)
    for index, directive in enumerate(doc.get("directives") or []):
        if not isinstance(directive, dict):
            continue
        if directive.get("directive_id") in ids:
            out.append(Issue(label, ("directives", index, "directive_id"), "envelope.duplicate_id",
                             "directive id used twice", "unique ids", "give each directive its own id"))
        ids.add(directive.get("directive_id"))
        if directive.get("type") not in allowed_directives:
            out.append(Issue(label, ("directives", index, "type"), "envelope.directive_not_allowed_here",
                             f"{directive.get('type')!r} is not issued from {src}",
                             ("one of " + ", ".join(sorted(allowed_directives))) if allowed_directives
                             else f"no directives from {src}", "drop the directive"))
    types = {d.get("type") for d in doc.get("directives") or [] if isinstance(d, dict)}
    for needed in cleanup:
        if needed != "teardown" and needed not in types:
            out.append(Issue(label, ("directives",), "envelope.terminal_cleanup_missing",
                             f"entering {dst} without {needed}", "the terminal cleanup of " + dst,
                             f"add a {needed} directive"))
    workers = machine.STATE_WORKERS.get(src, ())
    for index, launch in enumerate(doc.get("worker_launches") or []):
        task = launch.get("task") if isinstance(launch, dict) else None
        if not isinstance(task, dict):
            continue
        if task.get("task_id") in ids:
            out.append(Issue(label, ("worker_launches", index, "task", "task_id"), "envelope.duplicate_id",
                             "task id used twice", "unique ids", "give each task its own id"))
        ids.add(task.get("task_id"))
        if task.get("worker") not in workers:
            out.append(Issue(label, ("worker_launches", index, "task", "worker"), "envelope.worker_not_allowed_here",
                             f"{task.get('worker')!r} is not dispatched from {src}",
                             ("one of " + ", ".join(workers)) if workers else f"no workers from {src}",
                             "drop the launch"))
        out += iteration_path_issue(launch, "task_path", ("worker_launches", index), label, task.get("iteration"))
    return out


def _check_against_state(doc, state, dst, label):
    out = []
    if doc.get("computed_from_state") != state.get("machine_state") or doc.get("computed_against_seq") != state.get("step_seq"):
        out.append(Issue(label, ("computed_against_seq",), "envelope.stale",
                         f"computed from {doc.get('computed_from_state')}@{doc.get('computed_against_seq')}, "
                         f"state is {state.get('machine_state')}@{state.get('step_seq')}",
                         "the current state and sequence", "recompute the envelope from the current state"))
    known = {r.get("id") for r in state.get("pending") or [] if isinstance(r, dict)}
    for index, item in enumerate(doc.get("resolved_pending") or []):
        if isinstance(item, dict) and item.get("id") not in known:
            out.append(Issue(label, ("resolved_pending", index, "id"), "envelope.unknown_pending",
                             f"{item.get('id')!r} is not pending", "an id from state.pending", "resolve only pending records"))
    new_ids = {d.get("directive_id") for d in doc.get("directives") or [] if isinstance(d, dict)}
    new_ids |= {(w.get("task") or {}).get("task_id") for w in doc.get("worker_launches") or [] if isinstance(w, dict)}
    wait = doc.get("wait") if isinstance(doc.get("wait"), dict) else {}
    for index, pending_id in enumerate(wait.get("pending_ids") or []):
        if pending_id not in known | new_ids:
            out.append(Issue(label, ("wait", "pending_ids", index), "envelope.unknown_pending",
                             f"waiting for {pending_id!r}, which is not pending", "an id from state.pending",
                             "wait only for pending records"))
    sweep = state.get("current_sweep")
    types = {d.get("type") for d in doc.get("directives") or [] if isinstance(d, dict)}
    if (dst in machine.TERMINAL_STATES and dst != state.get("machine_state") and isinstance(sweep, dict)
            and sweep.get("resources_live") and "teardown" not in types):
        out.append(Issue(label, ("directives",), "envelope.terminal_cleanup_missing",
                         f"entering {dst} while {sweep.get('sweep_identity')} may still run or bill",
                         "a teardown directive", "add a teardown directive for the live sweep"))
    return out
