"""The host loop in code: step, resume and status over one campaign directory."""
from __future__ import annotations

import datetime
import os

from ..contract import machine, validation
from ..contract.campaign import identity_hash, runtime_config_hash
from ..contract.clock import format_time
from ..contract.issues import ContractError, Issue
from ..contract.locks import Busy
from ..contract.paths import CAMPAIGN_FILE, PREFLIGHT_FILE, trial_table_path
from ..contract.redaction import Redactor, secret_values
from ..handoffs import HANDOFFS
from ..handoffs.common import Inputs, ResultInput
from . import engine
from .state_store import CampaignDir, state_digest

RESULT_KIND = {"metaopt-ideation-worker": "ideation-result", "metaopt-selection-worker": "selection-result",
               "metaopt-analysis-worker": "analysis-result"}


class StepError(Exception):
    """The step could not run; nothing was changed. Carries the error report."""

    def __init__(self, code, message, fix, issues=()):
        super().__init__(message)
        # An issue may quote a value of the campaign. Cut while redacting, so no part of a key is left,
        # and again after ([REDACTED] may be longer than what it hides).
        redactor = Redactor(secret_values(os.environ))

        def hide(text, limit=None):
            return redactor.text(text, limit)[:limit]

        self.report = {"schema_version": 2, "error": {
            "code": code, "message": hide(message, 300), "fix": hide(fix, 300),
            "issues": [{"path": i.path, "rule": i.rule, "message": hide(i.message)} for i in list(issues)[:50]]}}


def now_utc() -> str:
    return format_time(datetime.datetime.now(datetime.timezone.utc))


def read_state(cdir, write_migration=True):
    """The campaign's state (a version 4 one migrated: written so only by a caller holding the lock)."""
    if not cdir.has_state():
        raise StepError("state-invalid", "this project has no campaign state yet",
                        "Run metaopt.py step to start the campaign from ml_metaopt_campaign.yaml.")
    try:
        return cdir.read_state(write_migration)
    except ContractError as exc:
        raise StepError("state-invalid", f"{cdir.rel(cdir.state_path)} is invalid: {exc.issues[0].message}",
                        "Restore state.json from a backup, or move .ml-metaopt/ aside to start the campaign "
                        "over; nothing was changed.", exc.issues) from None


def gather_inputs(cdir, state, campaign_issues, now) -> Inputs:
    """Read the preflight artifact, every pending worker task, and every pending record's result,
    each validated by its contract (a worker result against the task it answers)."""
    # Only LOAD_CAMPAIGN judges the preflight artifact; no other step reads it.
    preflight = (_result_input(cdir, "preflight-readiness", cdir.root / PREFLIGHT_FILE, validation.Context())
                 if state["machine_state"] == machine.INITIAL_STATE else ResultInput())
    results, tasks = {}, {}
    for record in state["pending"]:
        path = cdir.path(record["result_path"])
        if record["kind"] == "worker_task":
            task, task_issues = cdir.load("worker-task", cdir.path(record["spec_path"]))
            if task is not None and not task_issues:
                tasks[record["id"]] = task
            if os.path.lexists(path):
                context = validation.context_from_task(task) if record["id"] in tasks else validation.Context()
                results[record["id"]] = _result_input(cdir, RESULT_KIND[record["name"]], path, context)
        elif record["name"] in machine.EXECUTOR_DIRECTIVES and os.path.lexists(path):
            results[record["id"]] = _result_input(cdir, "executor-result", path, validation.Context())
    return Inputs(now=now, campaign_issues=campaign_issues, preflight=preflight, results=results, tasks=tasks,
                  trial_table=trial_table_reader(cdir), history=cdir.history(state))


def trial_table_reader(cdir):
    """identity -> the sweep's valid trial table, or None when it has none; read once per step and only
    when a worker task needs its history. An invalid table raises ContractError (the step refuses)."""
    tables = {}

    def read(identity):
        if identity not in tables:
            path = cdir.path(trial_table_path(identity))
            document = None
            if os.path.lexists(path):
                label = cdir.rel(path)
                document = cdir.load_valid("trial-table", path)
                if document["sweep_identity"] != identity:
                    raise ContractError([Issue(label, ("sweep_identity",), "trial_table.wrong_sweep",
                                               f"the table is of {document['sweep_identity']}", f"'{identity}'",
                                               "remove the file: the next poll of that sweep writes it again")])
            tables[identity] = document
        return tables[identity]

    return read


def _result_input(cdir, kind, path, context):
    if not os.path.lexists(path):
        return ResultInput()
    document, issues = cdir.load(kind, path, context)
    return ResultInput(exists=True, document=document, issues=tuple(issues))


def locked(project_root, body):
    """Run body(cdir) holding the campaign's single-writer lock; busy when another holds it."""
    cdir = CampaignDir(project_root)
    if not cdir.root.is_dir():
        raise StepError("project-missing", f"{project_root} is not a directory",
                        "Pass the training project's directory as --project-root.")
    try:
        cdir.check_layout()
        cdir.lock()
    except Busy:
        raise StepError("busy", "another metaopt process is stepping this campaign",
                        "Wait for it to finish, then run the command again.") from None
    except (ContractError, OSError) as exc:
        raise unusable_file_error(exc) from None
    try:
        cdir.check_journal_writable()
        return body(cdir)
    except (ContractError, OSError) as exc:
        # A file the driver must read or write is unusable (a corrupt directive, a link out of
        # .ml-metaopt/): report it; the state is only ever written after every check passed.
        raise unusable_file_error(exc) from None
    finally:
        cdir.unlock()


def unusable_file_error(exc) -> StepError:
    """The error report of a file the driver cannot use (a ContractError or an OSError)."""
    if isinstance(exc, ContractError):
        return StepError("input-invalid", f"cannot use {exc.issues[0].file}: {exc.issues[0].problem}",
                         "Repair or remove the named file (each issue says how), then step again; nothing was "
                         "changed.", exc.issues)
    return StepError("input-invalid", f"cannot use {exc.filename or 'a campaign file'}: {exc.strerror}",
                     "Make .ml-metaopt/ and its files writable regular files, then step again.")


def engine_step(cdir, now):
    """One engine step: (state after it, the envelope applied or None in a terminal state)."""
    campaign, campaign_issues = cdir.campaign()
    fresh = not cdir.has_state()
    if fresh:
        if campaign is None:
            raise StepError("campaign-invalid", f"{CAMPAIGN_FILE} is invalid: {campaign_issues[0].message}",
                            "Fix it (python3 scripts/validate.py shows every problem) and step again.",
                            campaign_issues)
        state = engine.initial_state(campaign, identity_hash(campaign), runtime_config_hash(campaign), now)
    else:
        state = run_mechanical(cdir, read_state(cdir), now)
        if state["machine_state"] in machine.TERMINAL_STATES:
            return close_finished_cleanup(cdir, state, now), None
    agent = machine.governing_agent(state["machine_state"])
    inputs = gather_inputs(cdir, state, campaign_issues, now)
    envelope = HANDOFFS[agent](state, campaign, inputs)
    if fresh:  # only now that every input was read: a refused one leaves no state behind
        cdir.write_state(state)
        cdir.append_journal({"seq": 0, "event": "init", "at": now, "summary": "campaign state created"})
    new_state = apply(cdir, state, envelope, now)
    return run_mechanical(cdir, new_state, now), envelope


def apply(cdir, state, envelope, now):
    """Validate and apply one envelope: spec files first, then the state, then archive and journal."""
    # Redacted first, in place: so no secret of the campaign reaches the state, and what the caller
    # prints of the envelope is what was applied.
    envelope.update(cdir.redactor.document(envelope))
    try:
        applied = engine.apply(state, envelope, now)
    except ContractError as exc:
        raise StepError("envelope-refused", f"the {envelope.get('agent')} envelope was refused: "
                        f"{exc.issues[0].message}", "This is a bug in the skill; report it with the journal.",
                        exc.issues) from None
    new_state = applied.state
    for directive in envelope["directives"]:
        record = next(r for r in new_state["pending"] if r["id"] == directive["directive_id"])
        cdir.write_spec(record["spec_path"], directive)
    for launch in envelope["worker_launches"]:
        cdir.write_spec(launch["task_path"], launch["task"])
    cdir.write_handoff(envelope)
    cdir.write_state(new_state, validated=True, appends=applied.appends, committed=state["history"])
    closed = {item["id"] for item in envelope["resolved_pending"]}
    for record in state["pending"]:
        if record["id"] in closed:
            cdir.archive(record)
    cdir.append_journal({"seq": new_state["step_seq"], "applied_to": state_digest(state), "at": now,
                         "agent": envelope["agent"], "phase": envelope["phase"], "from": state["machine_state"],
                         "to": new_state["machine_state"], "outcome": envelope["outcome"],
                         "summary": envelope["summary"]})
    return new_state


def run_mechanical(cdir, state, now):
    """Carry out pending mechanical directives (idempotent), then close them in one state write."""
    done = [r for r in state["pending"] if r["kind"] == "directive" and r["name"] in machine.MECHANICAL_DIRECTIVES]
    if not done:
        return state
    from . import mechanical  # the reports, imported by the step that writes one

    view = cdir.view(state)
    for record in done:
        directive = cdir.load_valid("directive", cdir.path(record["spec_path"]))
        mechanical.run(cdir, directive, view)
    return _close_records(cdir, state, done, now, "mechanical directives carried out")


def close_finished_cleanup(cdir, state, now):
    """In a terminal state, close cleanup directives whose executor result landed and succeeded.

    A failed or invalid teardown result is set aside, so the record stays pending and the host is
    told to run the teardown again: nothing is considered down until a teardown says so."""
    done = []
    for record in state["pending"]:
        path = cdir.path(record["result_path"])
        if not os.path.lexists(path):
            continue
        result = _result_input(cdir, "executor-result", path, validation.Context())
        if result.valid and result.document["status"] == "ok":
            done.append(record)
        else:
            cdir.set_aside(record["result_path"])
            why = result.issues[0].message if result.issues else (result.document or {}).get("error")
            cdir.append_journal({"seq": state["step_seq"], "at": now, "event": "cleanup-failed",
                                 "id": record["id"], "summary": f"{record['name']} did not succeed: {why}"[:300]})
    if not done:
        return state
    sweep = state["current_sweep"]
    for record in done:
        if record["name"] == "teardown":
            sweep = _sweep_down(sweep, record)
    return _close_records(cdir, state, done, now, "cleanup results recorded", current_sweep=sweep)


def _sweep_down(sweep, record):
    """The sweep after a confirmed cleanup teardown of it: it runs and bills no more."""
    if sweep is None or sweep["iteration"] != record["iteration"]:
        return sweep
    ended = sweep["status"] in ("finished", "canceled", "failed", "budget_exceeded")
    return dict(sweep, resources_live=False, status=sweep["status"] if ended else "torn_down")


def _close_records(cdir, state, records, now, summary, **changes):
    ids = {r["id"] for r in records}
    new_state = _engine_write(cdir, state, now, {"event": "engine", "closed": sorted(ids), "summary": summary},
                              pending=[r for r in state["pending"] if r["id"] not in ids], **changes)
    for record in records:
        cdir.archive(record)
    return new_state


def mark_dispatched(cdir, state, records, now):
    """Record that these worker tasks were handed to the host (so a later step knows an unanswered
    one ended without a result); the state is written only when something is new."""
    ids = {r["id"] for r in records if not r.get("dispatched_at")}
    if not ids:
        return state
    pending = [dict(r, dispatched_at=now) if r["id"] in ids else r for r in state["pending"]]
    return _engine_write(cdir, state, now, {"event": "dispatched", "ids": sorted(ids),
                                            "summary": f"handed {len(ids)} worker task(s) to the host"},
                         pending=pending)


def _engine_write(cdir, state, now, entry, **changes):
    """A change the driver makes itself (not an envelope): one state write and one journal line."""
    new_state = dict(state, step_seq=state["step_seq"] + 1, updated_at=now, **changes)
    cdir.write_state(new_state)
    cdir.append_journal({"seq": new_state["step_seq"], "applied_to": state_digest(state), "at": now, **entry})
    return new_state
