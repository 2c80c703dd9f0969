"""What every control agent's handoff function shares: its inputs, the envelope builder and its ids,
the campaign guard and the terminal cleanup.

A handoff function is pure: `handoff(state, campaign, inputs) -> envelope`. `campaign` is the
validated campaign with every default applied (None when the file is invalid; the issues are in
`inputs.campaign_issues`). Everything read from disk arrives through `inputs`, so tests and the
driver call the same function in-process.
"""
from __future__ import annotations

from collections import namedtuple

from ..contract import campaign as campaign_lib
from ..contract import machine
from ..contract.campaign import objective_of
from ..contract.conventions import one_line
from ..contract.history import ListHistory
from ..contract.paths import FINAL_REPORT_PATH, RESULT_SCHEMAS, SKILL_ROOT, result_path, task_path

ID_PREFIX = {
    "metaopt-ideation-worker": "ideation", "metaopt-selection-worker": "selection",
    "metaopt-analysis-worker": "analysis", "run_smoke_test": "smoke", "launch_sweep": "launch",
    "poll_sweep": "poll", "teardown": "teardown", "add_agents_hook": "hook", "remove_agents_hook": "unhook",
    "emit_iteration_report": "report", "emit_final_report": "final-report",
}


class ResultInput(namedtuple("ResultInput", "exists document issues", defaults=(False, None, ()))):
    """A result file of a pending record: whether it exists, the document, and its issues if invalid."""

    __slots__ = ()

    @property
    def valid(self) -> bool:
        return self.exists and self.document is not None and not self.issues


class Inputs(namedtuple("Inputs", "now campaign_issues preflight results tasks trial_table history",
                        defaults=((), ResultInput(), {}, {}, lambda identity: None, ListHistory()))):
    """What a handoff reads from disk, read by the driver: `now`; the campaign's issues; the preflight
    artifact (read for LOAD_CAMPAIGN only); results: pending id -> ResultInput; tasks: pending worker
    task id -> its valid task document; trial_table: sweep identity -> its valid trial table or None
    (read only when a worker task needs it); history: the campaign's (contract/history.py). The
    defaults are shared and never changed: a handoff only reads its inputs."""

    __slots__ = ()

    def result(self, pending_id) -> ResultInput:
        return self.results.get(pending_id, ResultInput())


class EnvelopeBuilder:
    """Collects one envelope. Ids are deterministic: recomputing the same step gives the same ids."""

    def __init__(self, state, agent, phase):
        self.state, self.agent, self.phase = state, agent, phase
        self.seq = state["step_seq"] + 1
        self.patch, self.resolved, self.directives, self.launches = [], [], [], []
        self._count = 0

    def new_id(self, name, iteration=None) -> str:
        self._count += 1
        return f"{ID_PREFIX[name]}-{iteration or self.state['iteration']}-{self.seq}-{self._count}"

    def set(self, path, value):
        self.patch.append({"op": "set", "path": path, "value": value})
        return self

    def append(self, path, value):
        self.patch.append({"op": "append", "path": path, "value": value})
        return self

    def resolve(self, pending_id, disposition="consumed"):
        self.resolved.append({"id": pending_id, "disposition": disposition})
        return self

    def directive(self, directive_type, payload, iteration=None) -> str:
        iteration = iteration or self.state["iteration"]
        record_id = self.new_id(directive_type, iteration)
        self.directives.append({"directive_id": record_id, "type": directive_type, "iteration": iteration,
                                "result_path": result_path(iteration, record_id), "payload": payload})
        return record_id

    def worker(self, worker, campaign, context, attempt=1, previous_errors=None) -> str:
        iteration = self.state["iteration"]
        task_id = self.new_id(worker)
        project = campaign["project"]
        task = {"schema_version": 1, "task_id": task_id, "worker": worker, "iteration": iteration,
                "attempt": attempt, "result_path": result_path(iteration, task_id),
                "result_schema": RESULT_SCHEMAS[worker], "objective": objective_of(campaign),
                "project": {"repo": project["repo"], "program": project["program"]},
                "no_code_patch": True, "context": context}
        if previous_errors:
            task["previous_errors"] = list(previous_errors)
        self.launches.append({"task_path": task_path(iteration, task_id), "task": task})
        return task_id

    def _envelope(self, outcome, next_state, next_phase, summary, action_kind, action_text,
                  wait=None, retry=None, block=None, stop=None) -> dict:
        envelope = {"schema_version": 1, "agent": self.agent, "phase": self.phase,
                    "computed_from_state": self.state["machine_state"], "computed_against_seq": self.state["step_seq"],
                    "outcome": outcome, "next_machine_state": next_state, "next_phase": next_phase,
                    "state_patch": self.patch, "resolved_pending": self.resolved, "directives": self.directives,
                    "worker_launches": self.launches, "wait": wait, "retry": retry, "block": block,
                    "summary": one_line(summary), "next_action": {"kind": action_kind, "text": one_line(action_text)}}
        if stop is not None:
            envelope["stop"] = stop
        return envelope

    def advance(self, next_state, next_phase, summary):
        kind, text = self._work_action()
        return self._envelope("advance", next_state, next_phase, summary, kind, text)

    def wait(self, pending_ids, until, reason):
        state = self.state
        return self._envelope("wait", state["machine_state"], state["phase"], reason, "wait", reason,
                              wait={"pending_ids": list(pending_ids), "until": until, "reason": one_line(reason)})

    def retry(self, attempt, max_attempts, retry_after_seconds, reason, next_phase=None):
        state = self.state
        kind, text = self._work_action()
        return self._envelope("retry", state["machine_state"], next_phase or state["phase"], reason, kind, text,
                              retry={"attempt": attempt, "max_attempts": max_attempts,
                                     "retry_after_seconds": int(retry_after_seconds), "reason": one_line(reason)})

    def blocked(self, target, code, reason, fix, campaign, resume_state=None, resume_phase=None):
        """Move to BLOCKED_CONFIG or BLOCKED_PROTOCOL with the terminal cleanup."""
        self._cleanup(target, reason, campaign)
        block = {"code": code, "reason": one_line(reason), "fix": one_line(fix),
                 "resume_state": resume_state or self.state["machine_state"],
                 "resume_phase": resume_phase or self.state["phase"]}
        return self._envelope("blocked", target, machine.TERMINAL_PHASE, reason, "stop", fix, block=block)

    def terminal(self, target, reason, campaign, limits=None, resume_state=None, resume_phase=None):
        """Move to COMPLETE or FAILED with the terminal cleanup. A COMPLETE stop on `limits` (budget,
        max_iterations, ...) records where metaopt.py resume continues once the user raised them."""
        self._cleanup(target, reason, campaign)
        stop = None
        if limits:
            stop = {"resume_state": resume_state or self.state["machine_state"],
                    "resume_phase": resume_phase or self.state["phase"], "limits": list(limits)}
        return self._envelope("advance", target, machine.TERMINAL_PHASE, reason, "stop", reason, stop=stop)

    def _cleanup(self, target, reason, campaign):
        # Entering a terminal state closes every other outstanding task or directive.
        closed = {item["id"] for item in self.resolved}
        for record in self.state["pending"]:
            if record["id"] not in closed:
                self.resolve(record["id"], "superseded")
        sweep = self.state["current_sweep"]
        if sweep is not None and sweep["resources_live"]:
            self.directive("teardown", {"sweep_identity": sweep["sweep_identity"], "sweep_id": sweep["sweep_id"],
                                        "backend": sweep["backend"], "reason": one_line(reason)},
                           iteration=sweep["iteration"])
        marker = campaign["campaign"]["name"] if campaign else self.state["campaign"]["name"]
        self.directive("remove_agents_hook", {"agents_md_path": "AGENTS.md", "marker": marker})
        self.directive("emit_final_report", {"report_path": FINAL_REPORT_PATH, "terminal_state": target,
                                             "reason": one_line(reason)})

    def _work_action(self):
        if self.launches:
            return "dispatch_workers", f"Dispatch {len(self.launches)} worker task(s), then step again."
        executor = [d for d in self.directives if d["type"] in machine.EXECUTOR_DIRECTIVES]
        if executor:
            return "run_executor", f"Run the executor for {executor[0]['type']}, then step again."
        return "continue", "Step again."


def hook_text(campaign_name) -> str:
    """The AGENTS.md block that tells a new host session how to continue the campaign."""
    script = SKILL_ROOT / "scripts" / "metaopt.py"
    return (f"An ml-metaoptimization campaign ({campaign_name}) is running in this project. To continue it, "
            f"run `python3 {script} step --project-root . --json` from this directory and do exactly what it "
            "prints; never edit .ml-metaopt/state.json by hand.")


def guard_campaign(state, campaign, inputs, builder):
    """A BLOCKED_CONFIG envelope when the campaign is invalid or is no longer this campaign, else None."""
    if campaign is None:
        first = inputs.campaign_issues[0].message if inputs.campaign_issues else "the campaign file is invalid"
        return builder.blocked("BLOCKED_CONFIG", "campaign-invalid", f"Campaign file is invalid: {first}",
                               "Fix ml_metaopt_campaign.yaml (python3 scripts/validate.py shows every problem), "
                               "then run metaopt.py resume.", campaign)
    if campaign_lib.identity_hash(campaign) != state["campaign"]["identity_hash"]:
        return builder.blocked("BLOCKED_CONFIG", "campaign-identity-changed",
                               "The campaign's identity (name, objective, W&B entity or project) changed.",
                               "Restore the original name, objective and W&B project, or start a new campaign "
                               "in a fresh .ml-metaopt/ directory.", campaign)
    return None


def run_phase(agent, phases, state, campaign, inputs) -> dict:
    """Run the function of the state's (machine_state, phase) after the campaign guard."""
    function = phases.get((state["machine_state"], state["phase"]))
    if function is None:
        raise ValueError(f"{agent} does not govern {state['machine_state']}/{state['phase']}")
    builder = EnvelopeBuilder(state, agent, state["phase"])
    blocked = guard_campaign(state, campaign, inputs, builder)
    return blocked if blocked is not None else function(state, campaign, inputs, builder)
