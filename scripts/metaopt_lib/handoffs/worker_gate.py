"""Gate the results of one worker lane: accept valid ones, retry bad, silent or late ones with a new
task id (bounded by proposal_policy.max_worker_attempts) that says why the last attempt was
rejected, and say what is still awaited."""
from __future__ import annotations

from ..contract.clock import add_seconds, parse_time
from ..contract.conventions import one_line
from ..contract.state_views import pending_of

MAX_PREVIOUS_ERRORS = 10


class Gate:
    """What the gate found: accepted (pending record, result document) pairs, the records still waiting
    within their time, those out of attempts, one line per rejected, silent or late result, and the
    earliest timeout among the waiting records."""

    def __init__(self):
        self.accepted, self.waiting, self.exhausted, self.problems = [], [], [], []
        self.until = None


def gate_worker_results(state, campaign, inputs, builder, worker, make_context) -> Gate:
    """Resolve every pending task of `worker` whose result landed, whose worker ended without one, or
    whose time ran out.

    A retry is a new task with a new id and the context of the task it replaces (make_context(record)
    rebuilds one when that task file is gone), plus `previous_errors`: what was wrong, so the worker
    can fix it instead of repeating it. A task the host was handed (`dispatched_at`) and that still
    has no result when the host steps again ended without one: the host steps only after its
    workers ended, so that attempt failed and is retried at once, not after the timeout."""
    policy = campaign["proposal_policy"]
    timeout = policy["worker_timeout_minutes"] * 60
    gate = Gate()
    for record in pending_of(state, worker):
        result = inputs.result(record["id"])
        deadline = add_seconds(record["created_at"], timeout)
        if result.exists and result.valid and result.document.get("status") == "ok":
            builder.resolve(record["id"], "consumed")
            gate.accepted.append((record, result.document))
            continue
        if result.exists:
            builder.resolve(record["id"], "rejected")
            errors = rejection_errors(result)
        elif record.get("dispatched_at"):
            builder.resolve(record["id"], "superseded")
            errors = [error("worker.no_result", "$", "the worker ended without writing its result file",
                             f"write the result to {record['result_path']} before ending")]
        elif parse_time(inputs.now) >= parse_time(deadline):
            builder.resolve(record["id"], "superseded")
            errors = [error("worker.timeout", "$", f"no result within {policy['worker_timeout_minutes']} minutes",
                             "answer within proposal_policy.worker_timeout_minutes")]
        else:
            gate.waiting.append(record)
            gate.until = deadline if gate.until is None else min(gate.until, deadline, key=parse_time)
            continue
        gate.problems.append(f"{record['id']} ({errors[0]['rule']} at {errors[0]['path']}): {errors[0]['message']}")
        if record["attempt"] < policy["max_worker_attempts"]:
            task = inputs.tasks.get(record["id"])
            context = task["context"] if task else make_context(record)
            builder.worker(worker, campaign, context, attempt=record["attempt"] + 1, previous_errors=errors)
        else:
            gate.exhausted.append(record)
    return gate


def rejection_errors(result) -> list:
    """What a rejected result got wrong, as previous_errors items (rule, JSON path, message, fix)."""
    if result.issues:
        return [error(i.rule, i.path, i.problem + (f"; expected {i.expected}" if i.expected else ""),
                       i.fix or "follow the result schema") for i in result.issues[:MAX_PREVIOUS_ERRORS]]
    reason = (result.document or {}).get("failure_reason", "the worker reported failure")
    return [error("worker.reported_failure", "$.status", f"the worker reported failure: {reason}",
                   "do the task and answer with status ok, or explain precisely why it cannot be done")]


def error(rule, path, message, fix) -> dict:
    """One previous_errors item."""
    return {"rule": rule[:100], "path": path[:300], "message": one_line(message), "fix": one_line(fix)}
