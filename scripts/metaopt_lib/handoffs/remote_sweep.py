"""WAIT_FOR_SWEEP of metaopt-remote-execution-control: the poll loop with its backoff, spend ledger,
budget stop and teardown; plus the executor-result and money helpers the other phases share.
"""
from __future__ import annotations

from ..contract.campaign import objective_of
from ..contract.clock import add_seconds, parse_time
from ..contract.state_views import budget_snapshot, pending_of
from . import honesty

MAX_POLL_ATTEMPTS = 5
POLL_INTERVAL_SECONDS = 60
CLOUD_POLL_BOUNDS = (30, 300)

# Re-issues of one executor directive (smoke test, launch, teardown) before the campaign gives up.
MAX_EXECUTOR_ATTEMPTS = 3
FINISHED_SWEEP_STATUSES = ("finished", "canceled")
# A search sweep stopped by the budget is analyzed with what it has once the user raised the budget;
# a noise floor or control stopped by it is recorded with what it has and judged at the iteration close.
BUDGET_RESUME = {"search": ("ANALYZE", "plan_analysis")}


def executor_problem(record, result, directive_type):
    """Why a landed executor result cannot be used as the answer to `record`, or None."""
    if not result.valid:
        return f"invalid {directive_type} result: {result.issues[0].message}" if result.issues \
            else f"unreadable {directive_type} result"
    document = result.document
    if document.get("directive_id") != record["id"] or document.get("type") != directive_type:
        return (f"result answers {document.get('type')} {document.get('directive_id')}, "
                f"not {directive_type} {record['id']}")
    return None


def executor_error(document) -> str:
    error = document.get("error") or {}
    return f"{error.get('code', 'unknown-error')}: {error.get('message', 'no message')}"


def is_retryable(document) -> bool:
    return bool((document.get("error") or {}).get("retryable"))


def capped_budget(state, campaign) -> dict:
    """The money position with the campaign's current cap, so a changed budget takes effect."""
    ledger = dict(state["spend_ledger"], max_budget_usd=campaign["compute"]["max_budget_usd"])
    return budget_snapshot({"spend_ledger": ledger})


def supersede(builder, state, name):
    """Close leftovers of `name` (e.g. after a resume) before a fresh request replaces them."""
    for record in pending_of(state, name):
        builder.resolve(record["id"], "superseded")


def _ledger_index(state, identity):
    for index, entry in enumerate(state["spend_ledger"]["entries"]):
        if entry["sweep_identity"] == identity:
            return index
    return None


def ensure_ledger_entry(builder, state, inputs, identity):
    """Open the ledger entry of a sweep of this iteration at 0 USD unless it exists."""
    if _ledger_index(state, identity) is None:
        builder.append("/spend_ledger/entries", {"sweep_identity": identity, "iteration": state["iteration"],
                                                 "usd": 0, "complete": True, "updated_at": inputs.now})


def recorded_sweep_spend(state, identity) -> float:
    """This sweep's spend already in the campaign total (0 before its first poll)."""
    index = _ledger_index(state, identity)
    return state["spend_ledger"]["entries"][index]["usd"] if index is not None else 0


def _record_spend(builder, state, inputs, usd, complete) -> float:
    """Raise (never lower, never reset) the sweep's ledger entry; returns the new campaign total."""
    sweep = state["current_sweep"]
    entries = state["spend_ledger"]["entries"]
    index = _ledger_index(state, sweep["sweep_identity"])
    previous = entries[index]["usd"] if index is not None else 0
    entry = {"sweep_identity": sweep["sweep_identity"], "iteration": sweep["iteration"],
             "usd": max(previous, usd), "complete": complete, "updated_at": inputs.now}
    if index is None:
        builder.append("/spend_ledger/entries", entry)
    else:
        builder.set(f"/spend_ledger/entries/{index}", entry)
    total = round(state["spend_ledger"]["closed_usd"] + sum(e["usd"] for i, e in enumerate(entries) if i != index)
                  + entry["usd"], 6)
    builder.set("/spend_ledger/total_usd", total)
    return total


def poll_wait_seconds(sweep) -> int:
    """How long a poll may wait for the sweep to end: a local poll watches its runner and answers as
    soon as it stops; a cloud poll answers at once."""
    return POLL_INTERVAL_SECONDS if sweep["backend"] == "local" else 0


def poll_interval(sweep, campaign) -> int:
    """Seconds from the last poll to the next: none after a good poll that waited for the end itself;
    for a cloud sweep, half its trials' length and half the idle timeout, whichever is shorter (so
    the end of a sweep and a hung run are seen soon), within CLOUD_POLL_BOUNDS; after failures the
    base interval, doubled for each one in a row."""
    if sweep["poll_failures"]:
        return POLL_INTERVAL_SECONDS * 2 ** sweep["poll_failures"]
    if poll_wait_seconds(sweep) > 0:
        return 0
    low, high = CLOUD_POLL_BOUNDS
    candidates = [campaign["compute"]["idle_timeout_minutes"] * 60 / 2]
    if sweep.get("trial_seconds"):
        candidates.append(sweep["trial_seconds"] / 2)
    return int(min(high, max(low, min(candidates))))


def request_poll(state, campaign, inputs, builder):
    sweep = state["current_sweep"]
    if sweep["last_poll_at"] is not None:
        due = add_seconds(sweep["last_poll_at"], poll_interval(sweep, campaign))
        if parse_time(inputs.now) < parse_time(due):
            return builder.wait([], due, f"Next poll of {sweep['sweep_identity']} is due at {due}; step again then.")
    builder.set("/spend_ledger/max_budget_usd", campaign["compute"]["max_budget_usd"])
    budget = capped_budget(state, campaign)
    if budget["remaining_usd"] <= 0:
        return budget_stop(state, campaign, inputs, builder, sweep, f"Budget exhausted: ${budget['spent_usd']:g} of "
                           f"${budget['max_budget_usd']:g} spent.")
    supersede(builder, state, "poll_sweep")
    builder.directive("poll_sweep", {
        "sweep_identity": sweep["sweep_identity"], "sweep_id": sweep["sweep_id"], "backend": sweep["backend"],
        "idle_timeout_minutes": campaign["compute"]["idle_timeout_minutes"], "budget": budget,
        "recorded_sweep_spend_usd": recorded_sweep_spend(state, sweep["sweep_identity"]),
        "objective": objective_of(campaign), "poll_attempt": sweep["poll_failures"] + 1,
        "max_wait_seconds": poll_wait_seconds(sweep)})
    return builder.advance("WAIT_FOR_SWEEP", "gate_poll", f"Poll {sweep['sweep_identity']} "
                           f"(${budget['remaining_usd']:g} of ${budget['max_budget_usd']:g} remains).")


def newest_pending(state, inputs, name):
    """The newest pending record of a directive type and its result input, or (None, None)."""
    records = pending_of(state, name)
    return (records[-1], inputs.result(records[-1]["id"])) if records else (None, None)


def wait_for_executor(builder, records):
    ids = [r["id"] for r in records]
    return builder.wait(ids, None, f"Waiting for the {records[0]['name']} result of {ids[0]}: run the executor "
                        "for it, then step again.")


def gate_poll(state, campaign, inputs, builder):
    teardowns = _settle_teardowns(state, inputs, builder)
    polls = pending_of(state, "poll_sweep")
    if polls:
        record = polls[-1]
        if inputs.result(record["id"]).exists:
            return _read_poll(state, campaign, inputs, builder, record, teardowns)
        if builder.resolved:
            return builder.advance("WAIT_FOR_SWEEP", "gate_poll", "Teardown result recorded; poll still pending.")
        return wait_for_executor(builder, [record] + teardowns["waiting"])
    return _after_teardown(state, campaign, inputs, builder, teardowns)


def _settle_teardowns(state, inputs, builder) -> dict:
    """Resolve every pending teardown whose result landed; say what was confirmed, failed or awaited."""
    out = {"confirmed": False, "failed": [], "waiting": []}
    for record in pending_of(state, "teardown"):
        result = inputs.result(record["id"])
        if not result.exists:
            out["waiting"].append(record)
            continue
        problem = executor_problem(record, result, "teardown")
        if problem is None and result.document["status"] == "ok":
            builder.resolve(record["id"], "consumed")
            out["confirmed"] = True
        else:
            builder.resolve(record["id"], "rejected")
            retryable = problem is not None or is_retryable(result.document)
            out["failed"].append((record, problem or executor_error(result.document), retryable))
    return out


def _after_teardown(state, campaign, inputs, builder, teardowns):
    sweep = state["current_sweep"]
    if teardowns["confirmed"] and not teardowns["waiting"]:
        builder.set("/current_sweep/resources_live", False)
        if sweep["status"] in FINISHED_SWEEP_STATUSES:
            return sweep_ended(state, campaign, inputs, builder, sweep,
                               f"{sweep['sweep_identity']} {sweep['status']} and torn down.")
        return builder.advance("WAIT_FOR_SWEEP", "request_poll", "Teardown confirmed; poll again.")
    if teardowns["failed"] and not teardowns["waiting"]:
        record, why, retryable = teardowns["failed"][-1]
        if retryable and record["attempt"] < MAX_EXECUTOR_ATTEMPTS:
            _teardown(builder, sweep, f"retry after: {why}")
            return builder.retry(record["attempt"], MAX_EXECUTOR_ATTEMPTS, 0, f"Teardown failed ({why}); retrying.")
        return builder.blocked("BLOCKED_PROTOCOL", "teardown-failed",
                               f"Teardown of {sweep['sweep_identity']} failed: {why}",
                               "Release the sweep's machines or processes by hand (see the teardown result), "
                               "then run metaopt.py resume.", campaign, "WAIT_FOR_SWEEP", "request_poll")
    if teardowns["waiting"]:
        if builder.resolved:
            return builder.advance("WAIT_FOR_SWEEP", "gate_poll", "Teardown result recorded; another is pending.")
        return builder.wait([r["id"] for r in teardowns["waiting"]], None, "Waiting for the teardown result: "
                            "run the executor for it, then step again.")
    if sweep["status"] in FINISHED_SWEEP_STATUSES and not sweep["resources_live"]:
        return sweep_ended(state, campaign, inputs, builder, sweep, f"{sweep['sweep_identity']} {sweep['status']}.")
    return request_poll(state, campaign, inputs, builder)


def _teardown(builder, sweep, reason):
    builder.directive("teardown", {"sweep_identity": sweep["sweep_identity"], "sweep_id": sweep["sweep_id"],
                                   "backend": sweep["backend"], "reason": reason}, iteration=sweep["iteration"])


def _read_poll(state, campaign, inputs, builder, record, teardowns):
    sweep = state["current_sweep"]
    result = inputs.result(record["id"])
    problem = executor_problem(record, result, "poll_sweep")
    if problem is None and result.document["details"]["sweep_identity"] != sweep["sweep_identity"]:
        problem = f"poll result is for {result.document['details']['sweep_identity']}"
    reported = result.document["details"].get("sweep_id") if problem is None else None
    if reported is not None and sweep["sweep_id"] is not None and reported != sweep["sweep_id"]:
        problem = f"poll result is for sweep {reported}, not the launched {sweep['sweep_id']}"
    if problem is None and result.document["status"] == "ok":
        builder.resolve(record["id"], "consumed")
        return _apply_poll(state, campaign, inputs, builder, result.document["details"], teardowns)
    builder.resolve(record["id"], "rejected")
    if problem is None and not is_retryable(result.document):
        return builder.terminal("FAILED", f"Polling {sweep['sweep_identity']} failed for good: "
                                f"{executor_error(result.document)}", campaign)
    why = problem or executor_error(result.document)
    if problem is None:
        spend = result.document["details"]["spend"]
        # An incomplete listing never reads as zero: the entry is marked incomplete and only ever
        # raised, by the part of the spend that was listed.
        _record_spend(builder, state, inputs, spend["sweep_spend_usd"], spend["complete"])
    failures = sweep["poll_failures"] + 1
    if failures >= MAX_POLL_ATTEMPTS:
        # Reset so a resume after the fix starts with a fresh set of attempts.
        builder.set("/current_sweep", dict(sweep, poll_failures=0, last_poll_at=inputs.now))
        return builder.blocked("BLOCKED_PROTOCOL", "poll-attempts-exhausted",
                               f"{failures} polls of {sweep['sweep_identity']} in a row failed; last: {why}",
                               "Fix what the poll error names (credentials, network, W&B or cloud access), "
                               "then run metaopt.py resume.", campaign, "WAIT_FOR_SWEEP", "request_poll")
    builder.set("/current_sweep", dict(sweep, poll_failures=failures, last_poll_at=inputs.now))
    return builder.retry(failures, MAX_POLL_ATTEMPTS, POLL_INTERVAL_SECONDS * 2 ** failures,
                         f"Poll {failures} of {sweep['sweep_identity']} failed ({why}); backing off.",
                         next_phase="request_poll")


def _apply_poll(state, campaign, inputs, builder, details, teardowns):
    sweep = state["current_sweep"]
    status = details["sweep_status"]
    builder.set("/current_sweep", dict(sweep, status=status, trials=details["trials"], best_run=details["best_run"],
                                       last_poll_at=details["polled_at"], poll_failures=0,
                                       resources_live=details["resources_live"],
                                       runner_restarts=details.get("runner_restarts", 0),
                                       trial_seconds=details.get("trial_seconds")))
    builder.set("/spend_ledger/max_budget_usd", campaign["compute"]["max_budget_usd"])
    total = _record_spend(builder, state, inputs, details["spend"]["sweep_spend_usd"], True)
    cap = campaign["compute"]["max_budget_usd"]
    name = sweep["sweep_identity"]
    after = dict(sweep, status=status, trials=details["trials"], best_run=details["best_run"])
    if status == "budget_exceeded" or total >= cap:
        return budget_stop(state, campaign, inputs, builder, after,
                           f"Budget exhausted: ${total:g} of ${cap:g} spent ({name}).")
    if status == "failed":
        return builder.terminal("FAILED", f"Sweep {name} failed (stop reason {details['stop_reason']}).", campaign)
    if status in FINISHED_SWEEP_STATUSES:
        if details["resources_live"]:
            if not teardowns["waiting"]:
                _teardown(builder, sweep, f"sweep {status}; release its resources")
            return builder.advance("WAIT_FOR_SWEEP", "gate_poll", f"{name} {status}; tearing down before analysis.")
        return sweep_ended(state, campaign, inputs, builder, after, f"{name} {status}: {details['trials']['finished']} "
                           f"trial(s) finished; ${total:g} of ${cap:g} spent.")
    return builder.advance("WAIT_FOR_SWEEP", "request_poll", f"{name} {status}: {details['trials']['finished']} "
                           f"finished, {details['trials']['running']} running; ${total:g} of ${cap:g} spent.")


def sweep_ended(state, campaign, inputs, builder, sweep, text):
    """A sweep ended: a search sweep goes to its analysis, the others are recorded and judged at the
    iteration close."""
    if honesty.purpose_of(sweep) == "search":
        return builder.advance("ANALYZE", "plan_analysis", f"{text} Analyze it.")
    line = honesty.record_ended(state, campaign, inputs, builder, sweep)
    return builder.advance("ROLL_ITERATION", "roll_iteration", f"{text} {line[0].upper()}{line[1:]}.")


def budget_stop(state, campaign, inputs, builder, sweep, text):
    """The budget ran out while `sweep` ran: stop, resumable once the budget was raised."""
    purpose = honesty.purpose_of(sweep)
    if purpose != "search":
        text += f" {honesty.record_ended(state, campaign, inputs, builder, sweep)} (cut short)."
    resume_state, resume_phase = BUDGET_RESUME.get(purpose, ("ROLL_ITERATION", "roll_iteration"))
    return builder.terminal("COMPLETE", text, campaign, limits=["budget"], resume_state=resume_state,
                            resume_phase=resume_phase)
