"""Gate the results of one worker lane: accept valid ones, retry bad or late ones with a new task
id (bounded by proposal_policy.max_worker_attempts), and say what is still awaited."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..contract.clock import add_seconds, parse_time
from ..contract.state_views import pending_of


@dataclass
class Gate:
    accepted: list = field(default_factory=list)   # (pending record, result document)
    waiting: list = field(default_factory=list)    # pending records still within their time
    exhausted: list = field(default_factory=list)  # pending records out of attempts
    problems: list = field(default_factory=list)   # one line per rejected or late result
    until: str | None = None                       # earliest timeout among the waiting records


def gate_worker_results(state, campaign, inputs, builder, worker, make_context) -> Gate:
    """Resolve every pending task of `worker` whose result landed or whose time ran out.

    make_context() rebuilds the task context for a retry (the retry is a new task with a new id).
    """
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
            gate.problems.append(_why_rejected(record, result))
        elif parse_time(inputs.now) >= parse_time(deadline):
            builder.resolve(record["id"], "superseded")
            gate.problems.append(f"{record['id']}: no result within {policy['worker_timeout_minutes']} minutes")
        else:
            gate.waiting.append(record)
            gate.until = deadline if gate.until is None else min(gate.until, deadline, key=parse_time)
            continue
        if record["attempt"] < policy["max_worker_attempts"]:
            builder.worker(worker, campaign, make_context(), attempt=record["attempt"] + 1)
        else:
            gate.exhausted.append(record)
    return gate


def _why_rejected(record, result):
    if result.issues:
        return f"{record['id']}: invalid result: {result.issues[0].message}"
    reason = (result.document or {}).get("failure_reason", "the worker reported failure")
    return f"{record['id']}: worker failed: {reason}"
