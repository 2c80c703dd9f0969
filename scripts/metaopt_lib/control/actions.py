"""What comes next after an engine step, and the documents a host and a person read: the slim step
output (one action, small and independent of the campaign's history) and the status view."""
from __future__ import annotations

import os
import sys

from ..contract import machine
from ..contract.clock import add_seconds, parse_time
from ..contract.conventions import one_line
from ..contract.paths import RESULT_SCHEMAS, SKILL_ROOT
from ..contract.state_views import budget_snapshot, effective_baseline

EXECUTOR_SCRIPT = SKILL_ROOT / "scripts" / "skypilot_wandb_worker.py"
METAOPT_SCRIPT = SKILL_ROOT / "scripts" / "metaopt.py"
PROFILES = {worker: f".github/agents/{worker}.agent.md" for worker in RESULT_SCHEMAS}
# Sweep statuses while it may still run trials; how the status view projects spend (spend_projection).
ACTIVE_SWEEP_STATUSES = ("launching", "pending", "running", "paused")
PROJECTION_RULE = "spend-per-ended-trial"

# What a host does for each action kind (documented in SKILL.md and control-protocol.md).
ACTION_KINDS = {
    "dispatch_workers": "for each entry of `action.workers`, start the worker `worker` with `<skill>/<profile>` as "
                        "its instructions and `<project>/<task_path>` as its task; it writes `<project>/<result_path>`. "
                        "When every one has ended (with or without its result), step again",
    "step": "step again at once (the step waited as long as it may; `progress` says what is running)",
    "run_executor": "only with `--no-executor`: run `action.command` as an argv list, never through a shell; when it "
                    "exits, step again",
    "stop": "stop looping; tell the user `terminal_state`, `reason` and every line of `user_can`",
}


def executor_argv(campaign_dir, record, script=EXECUTOR_SCRIPT) -> list:
    return [sys.executable, str(script), "run", "--project-root", str(campaign_dir.root),
            "--directive", str(campaign_dir.path(record["spec_path"]))]


def next_move(campaign_dir, state, envelope) -> dict:
    """What the state after an engine step calls for: run_executor | stop | dispatch_workers | wait | step.

    A `wait` move carries `until` (None: until a pending result lands); a `run_executor` move the
    record; `dispatch_workers` the task records. Every task without a result is (re)dispatched: a task
    dispatched twice writes the same result file, so a host that lost its place simply dispatches again."""
    missing = [r for r in state["pending"] if not os.path.lexists(campaign_dir.path(r["result_path"]))]
    executor = [r for r in missing if r["kind"] == "directive" and r["name"] in machine.EXECUTOR_DIRECTIVES]
    if executor:
        return {"kind": "run_executor", "record": executor[0]}
    if state["machine_state"] in machine.TERMINAL_STATES:
        return {"kind": "stop"}
    tasks = [r for r in missing if r["kind"] == "worker_task"]
    if tasks:
        return {"kind": "dispatch_workers", "records": tasks}
    if envelope is not None and envelope["outcome"] == "wait":
        return {"kind": "wait", "until": envelope["wait"]["until"], "reason": envelope["wait"]["reason"]}
    if envelope is not None and envelope["outcome"] == "retry" and envelope["retry"]["retry_after_seconds"]:
        return {"kind": "wait", "until": add_seconds(state["updated_at"], envelope["retry"]["retry_after_seconds"]),
                "reason": envelope["retry"]["reason"]}
    return {"kind": "step"}


def dispatch_action(records) -> dict:
    return {"kind": "dispatch_workers",
            "workers": [{"worker": r["name"], "profile": PROFILES[r["name"]], "task_path": r["spec_path"],
                         "result_path": r["result_path"]} for r in records]}


def executor_action(campaign_dir, record) -> dict:
    return {"kind": "run_executor", "command": executor_argv(campaign_dir, record)}


def step_action(state, until=None) -> dict:
    """Step again: at once, or (with a frozen clock) not before `until`; with the sweep's progress."""
    action = {"kind": "step"}
    if until is not None:
        action["until"] = until
    progress = sweep_progress(state)
    if progress is not None:
        action["progress"] = progress
    return action


LIMIT_SETTINGS = {"budget": "compute.max_budget_usd", "max_iterations": "stop_conditions.max_iterations",
                  "no_improve_iterations": "stop_conditions.no_improve_iterations",
                  "target_metric": "stop_conditions.target_metric"}


def stop_action(campaign_dir, state) -> dict:
    """Stop, with what the user can do next: every command named works in this state."""
    terminal = state["terminal"] or {"state": state["machine_state"], "reason": "stopped"}
    found = "the results and the best configuration" if state["completed_iterations"] else "what happened"
    root = campaign_dir.root
    resume = f"python3 {METAOPT_SCRIPT} resume --project-root {root}"
    reset = f"python3 {METAOPT_SCRIPT} reset --project-root {root}"
    user_can = []
    if state["block"]:
        user_can += [concrete(state["block"]["fix"], campaign_dir), one_line(f"Then run: {resume}")]
    elif terminal.get("resume"):
        settings = " or ".join(LIMIT_SETTINGS[limit] for limit in terminal["resume"]["limits"])
        user_can.append(one_line(f"To go on, raise {settings} in ml_metaopt_campaign.yaml, then run: {resume}"))
    user_can.append(f"Read .ml-metaopt/reports/final.md for {found}.")
    user_can.append(one_line(f"To start the campaign over, run: {reset} (it archives this one)"))
    cleanup = [r for r in state["pending"] if r["name"] == "teardown"]
    if cleanup:
        user_can.insert(0, one_line(f"The teardown of {cleanup[0]['id']} has not succeeded yet, so resources may "
                                    f"still run or bill: run python3 {METAOPT_SCRIPT} step --project-root {root} "
                                    "to try again (its journal line says why it failed)."))
    return {"kind": "stop", "terminal_state": terminal["state"], "reason": terminal["reason"], "user_can": user_can}


def concrete(text, campaign_dir) -> str:
    """A fix as the user can paste it: the skill's scripts and the project by their absolute paths."""
    text = text.replace("python3 scripts/", f"python3 {SKILL_ROOT}/scripts/").replace("<project>",
                                                                                    str(campaign_dir.root))
    return one_line(text)


def sweep_progress(state) -> dict | None:
    """The current sweep's progress while it runs: trials of the run cap, best so far, spend of the cap."""
    sweep = state["current_sweep"]
    if sweep is None or sweep["status"] not in ACTIVE_SWEEP_STATUSES:
        return None
    selected = state["selected_sweep"] or {}
    budget = budget_snapshot(state)
    return {"sweep_identity": sweep["sweep_identity"], "trials_finished": sweep["trials"]["finished"],
            "trials_running": sweep["trials"]["running"],
            "run_cap": selected.get("sweep_config", {}).get("run_cap"),
            "best_metric": sweep["best_run"]["metric_value"] if sweep["best_run"] else None,
            "spent_usd": budget["spent_usd"], "max_budget_usd": budget["max_budget_usd"]}


def progress_line(progress) -> str:
    best = "none yet" if progress["best_metric"] is None else f"{progress['best_metric']:.6g}"
    cap = progress["run_cap"] if progress["run_cap"] is not None else "?"
    return (f"{progress['sweep_identity']} running: {progress['trials_finished']} of {cap} trials finished, "
            f"{progress['trials_running']} running, best {best}; ${progress['spent_usd']:.2f} of "
            f"${progress['max_budget_usd']:.2f} spent")


def step_output(state, summary, action) -> dict:
    return {"schema_version": 2, "machine_state": state["machine_state"], "iteration": state["iteration"],
            "summary": one_line(summary), "action": action}


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
    closed = {record["iteration"] for record in state["completed_iterations"]}
    runs = [(record["iteration"], record["best_run"]) for record in state["completed_iterations"] if record["best_run"]]
    sweep = state["current_sweep"]
    if sweep is not None and sweep["best_run"] and sweep["iteration"] not in closed:
        runs.append((sweep["iteration"], sweep["best_run"]))
    if not runs or objective is None:
        return None
    sign = 1 if objective["direction"] == "maximize" else -1
    iteration, run = max(runs, key=lambda item: sign * item[1]["metric_value"])
    if baseline and baseline["source"] == "sweep" and baseline.get("iteration") == iteration \
            and baseline.get("run_id") == run["run_id"]:
        judgement = "baseline"
    else:
        judgement = "not-adopted" if iteration in closed else "pending"
    return {"metric_value": run["metric_value"], "run_id": run["run_id"], "run_url": run.get("run_url"),
            "iteration": iteration, "config": run["config"], "judgement": judgement}


def sweep_status(state, sweep, now) -> dict:
    """The current sweep's progress, time and money (see `spend_projection` for the projection)."""
    entry = next((e for e in state["spend_ledger"]["entries"] if e["sweep_identity"] == sweep["sweep_identity"]),
                 None)
    selected = state["selected_sweep"]
    run_cap = selected["sweep_config"]["run_cap"] if selected and selected["iteration"] == sweep["iteration"] else None
    active = sweep["status"] in ACTIVE_SWEEP_STATUSES
    spent = entry["usd"] if entry else None
    billed_seconds = _seconds_between(sweep["launched_at"], entry["updated_at"] if entry else None)
    rate = spent / (billed_seconds / 3600) if spent is not None and entry["complete"] and billed_seconds else None
    return {"sweep_identity": sweep["sweep_identity"], "iteration": sweep["iteration"], "backend": sweep["backend"],
            "status": sweep["status"], "active": active, "trials": sweep["trials"],
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
