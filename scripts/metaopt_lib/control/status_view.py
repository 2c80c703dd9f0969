"""The status view: what a person reads in five seconds about a campaign (also the --json document
of `metaopt.py status`, references/schemas/status-output.schema.json), from the state alone."""
from __future__ import annotations

from ..contract import machine
from ..contract.clock import parse_time
from ..contract.conventions import one_line
from ..contract.state_views import budget_snapshot, effective_baseline
from .actions import ACTIVE_SWEEP_STATUSES

# How the status view projects spend at the run cap (spend_projection).
PROJECTION_RULE = "spend-per-ended-trial"


def status_view(state, journal_tail, action, now) -> dict:
    """What a person reads in five seconds, as of `now` (also the --json document of `metaopt.py
    status`, references/schemas/status-output.schema.json). Everything comes from the state and the
    journal; numbers stay at full precision here, the text view rounds them for reading."""
    sweep = state["current_sweep"]
    baseline = effective_baseline(state)
    objective = state_objective(state)
    return {
        "schema_version": 1, "at": now,
        "campaign": state["campaign"]["name"], "machine_state": state["machine_state"], "status": state["status"],
        "iteration": state["iteration"], "phase": state["phase"], "waiting_for": waiting_for(state, action),
        "objective": objective,
        "baseline": baseline["metric_value"] if baseline else None,
        "baseline_run": baseline.get("run_id") if baseline else None,
        "baseline_source": baseline["source"] if baseline else None,
        "baseline_iteration": baseline.get("iteration") if baseline else None,
        "best": best_so_far(state, objective, baseline),
        "completed_iterations": len(state["completed_iterations"]),
        "current_sweep_best": sweep["best_run"]["metric_value"] if sweep and sweep["best_run"] else None,
        "budget": budget_snapshot(state),
        "current_sweep": None if sweep is None else sweep_status(state, sweep, now),
        "pending": [f"{r['id']} ({r['name']})" for r in state["pending"]],
        "block": state["block"], "recent": [one_line(e.get("summary", "")) for e in journal_tail],
        "next_action": action,
    }


def state_objective(state):
    """{metric, direction} as the state records them: the metric of the selected sweep's config, else
    of a proposal in the pool (each was checked against the campaign's objective when it was
    accepted); None before the first proposal (the state keeps no other copy of the objective)."""
    configs = [state["selected_sweep"]["sweep_config"]] if state["selected_sweep"] else []
    for config in configs + [p["sweep_config"] for p in state["proposal_pool"]]:
        metric = config.get("metric") or {}
        if metric.get("name") and metric.get("goal") in ("minimize", "maximize"):
            return {"metric": metric["name"], "direction": metric["goal"]}
    return None


def best_so_far(state, objective, baseline):
    """The best run of every sweep so far (the earliest of equals), whether or not it became the baseline."""
    closed = {record["iteration"]: record for record in state["completed_iterations"]}
    runs = [(record["iteration"], record["best_run"]) for record in state["completed_iterations"] if record["best_run"]]
    sweep = state["current_sweep"]
    if sweep is not None and sweep["best_run"] and sweep["iteration"] not in closed \
            and sweep.get("purpose", "search") == "search":
        runs.append((sweep["iteration"], sweep["best_run"]))
    if not runs or objective is None:
        return None
    sign = 1 if objective["direction"] == "maximize" else -1
    iteration, run = max(runs, key=lambda item: sign * item[1]["metric_value"])
    if baseline and baseline["source"] == "sweep" and baseline.get("iteration") == iteration \
            and baseline.get("run_id") == run["run_id"]:
        judgement = "baseline"
    elif iteration not in closed:
        judgement = "pending"
    else:
        judgement = "not-adopted-noise-floor" if closed[iteration].get("noise_floor") else "not-adopted"
    return {"metric_value": run["metric_value"], "run_id": run["run_id"], "run_url": run.get("run_url"),
            "iteration": iteration, "config": run["config"], "judgement": judgement}


def sweep_status(state, sweep, now) -> dict:
    """The current sweep's progress, time and money (see `spend_projection` for the projection)."""
    entry = next((e for e in state["spend_ledger"]["entries"] if e["sweep_identity"] == sweep["sweep_identity"]),
                 None)
    selected = state["selected_sweep"]
    run_cap = sweep.get("run_cap")
    if run_cap is None and selected and selected["iteration"] == sweep["iteration"]:
        run_cap = selected["sweep_config"]["run_cap"]
    active = sweep["status"] in ACTIVE_SWEEP_STATUSES
    spent = entry["usd"] if entry else None
    billed_seconds = _seconds_between(sweep["launched_at"], entry["updated_at"] if entry else None)
    rate = spent / (billed_seconds / 3600) if spent is not None and entry["complete"] and billed_seconds else None
    return {"sweep_identity": sweep["sweep_identity"], "iteration": sweep["iteration"], "backend": sweep["backend"],
            "purpose": sweep.get("purpose", "search"), "status": sweep["status"], "active": active, "trials": sweep["trials"],
            "runner_restarts": sweep.get("runner_restarts", 0), "run_cap": run_cap,
            "best_metric": sweep["best_run"]["metric_value"] if sweep["best_run"] else None,
            "launched_at": sweep["launched_at"], "last_poll_at": sweep["last_poll_at"],
            "elapsed_seconds": _seconds_between(sweep["launched_at"], now if active else sweep["last_poll_at"]),
            "spent_usd": spent, "spend_complete": entry["complete"] if entry else None, "usd_per_hour": rate,
            "projection": spend_projection(state, sweep, run_cap, entry, active)}


def spend_projection(state, sweep, run_cap, entry, active) -> dict:
    """The spend when the sweep reaches its run cap, projected from what the ledger says it cost so
    far per ended trial (finished, failed or killed: the trials that count against the cap):
    sweep = max(spent, spent / ended * run_cap); campaign = campaign total - spent + sweep. What the
    running trials cost so far is charged to the ended ones, and so is a cloud sweep's start-up, so
    the projection errs high early in a sweep and converges as trials end. None of it is guessed:
    without a run cap, a complete cost listing or an ended trial there is no projection, and why."""
    trials = sweep["trials"]
    ended = trials["finished"] + trials["failed"] + trials["killed"]
    reason = None
    if not active:
        reason = "the sweep has ended"
    elif run_cap is None:
        reason = "the state has no run cap for this sweep"
    elif entry is None:
        reason = "no spend is recorded for this sweep yet"
    elif not entry["complete"]:
        reason = "the latest cost listing was incomplete"
    elif ended == 0:
        reason = "no trial has ended yet"
    projection = {"rule": PROJECTION_RULE, "ended_trials": ended, "usd_per_ended_trial": None,
                  "sweep_usd_at_run_cap": None, "campaign_usd_at_run_cap": None, "unavailable": reason}
    if reason is None:
        per_trial = entry["usd"] / ended
        sweep_usd = max(entry["usd"], per_trial * run_cap)
        projection.update(usd_per_ended_trial=per_trial, sweep_usd_at_run_cap=sweep_usd,
                          campaign_usd_at_run_cap=state["spend_ledger"]["total_usd"] - entry["usd"] + sweep_usd)
    return projection


def waiting_for(state, action) -> str:
    """What the campaign waits for, in one line."""
    if action["kind"] == "stop":
        if any(r["name"] == "teardown" for r in state["pending"]):
            return "a step to try the teardown again (resources may still run or bill)"
        if state["block"]:
            return "you: to apply the block's fix, then run metaopt.py resume"
        return "nothing: the campaign has stopped"
    if action["kind"] == "dispatch_workers":
        workers = [w["worker"] for w in action["workers"]]
        names = ", ".join(f"{workers.count(name)} x {name}" for name in dict.fromkeys(workers))
        return one_line(f"worker results: {names}")
    executor = [r for r in state["pending"] if r["kind"] == "directive" and r["name"] in machine.EXECUTOR_DIRECTIVES]
    if executor:
        return one_line("the executor: " + ", ".join(f"{r['name']} {r['id']}" for r in executor))
    mechanical = [r["name"] for r in state["pending"] if r["kind"] == "directive"]
    if mechanical:
        return one_line(f"the next step, which runs {', '.join(mechanical)}")
    if state["pending"]:
        return one_line(f"a step to read {len(state['pending'])} worker result(s)")
    return "nothing: the next step moves on"


def _seconds_between(start, end):
    if start is None or end is None:
        return None
    return max(0.0, (parse_time(end) - parse_time(start)).total_seconds())
