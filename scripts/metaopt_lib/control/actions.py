"""What comes next after an engine step, and the slim step output a host reads (one action, small
and independent of the campaign's history); the status view for people is status_view.py."""
from __future__ import annotations

import os
import sys

from ..contract import machine
from ..contract.clock import add_seconds
from ..contract.conventions import one_line
from ..contract.paths import RESULT_SCHEMAS, SKILL_ROOT
from ..contract.state_views import budget_snapshot

EXECUTOR_SCRIPT = SKILL_ROOT / "scripts" / "skypilot_wandb_worker.py"
METAOPT_SCRIPT = SKILL_ROOT / "scripts" / "metaopt.py"
PROFILES = {worker: f".github/agents/{worker}.agent.md" for worker in RESULT_SCHEMAS}
# Sweep statuses while it may still run trials.
ACTIVE_SWEEP_STATUSES = ("launching", "pending", "running", "paused")

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
    found = "the results and the best configuration" if state["history"]["iterations"]["count"] else "what happened"
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
            "run_cap": sweep.get("run_cap") or selected.get("sweep_config", {}).get("run_cap"),
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
