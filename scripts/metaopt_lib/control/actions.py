"""The single next action for the host, and the status view: both computed from state, small and
independent of the campaign's history."""
from __future__ import annotations

import sys

from ..contract import machine
from ..contract.clock import add_seconds
from ..contract.paths import RESULT_SCHEMAS
from ..contract.paths import SKILL_ROOT
from ..contract.state_views import budget_snapshot, effective_baseline

EXECUTOR_SCRIPT = SKILL_ROOT / "scripts" / "skypilot_wandb_worker.py"
RESUME_SCRIPT = SKILL_ROOT / "scripts" / "metaopt.py"
PROFILES = {worker: f".github/agents/{worker}.agent.md" for worker in RESULT_SCHEMAS}

# What a host does for each action kind (documented in SKILL.md and control-protocol.md).
ACTION_KINDS = {
    "step": "step again at once",
    "dispatch_workers": "for each entry of `action.workers`, start the worker `worker` with `<skill>/<profile>` as "
                        "its instructions and the task file `<project>/<task_path>`; it must write "
                        "`<project>/<result_path>` matching `<skill>/<result_schema>`. Workers may run in parallel. "
                        "When each has written its result file (or ended without one), step again",
    "run_executor": "run `action.command` as an argv list, never through a shell; when it exits, step again",
    "wait": "sleep until `action.until` (UTC; null means until a pending result lands), then step again",
    "stop": "stop looping; tell the user `terminal_state`, `reason` and every line of `user_can`",
}


def executor_command(campaign_dir, record) -> list:
    return [sys.executable, str(EXECUTOR_SCRIPT), "run", "--project-root", str(campaign_dir.root),
            "--directive", str(campaign_dir.path(record["spec_path"]))]


def next_action(campaign_dir, state, envelope) -> dict:
    """dispatch_workers | run_executor | wait | step | stop, from the state after this step."""
    missing = [r for r in state["pending"] if not campaign_dir.path(r["result_path"]).exists()]
    executor = [r for r in missing if r["kind"] == "directive" and r["name"] in machine.EXECUTOR_DIRECTIVES]
    if executor:
        return {"kind": "run_executor", "text": f"Run the executor for {executor[0]['name']} ({executor[0]['id']}), "
                "then step again.", "command": executor_command(campaign_dir, executor[0])}
    if state["machine_state"] in machine.TERMINAL_STATES:
        return stop_action(campaign_dir, state)
    # Every task without a result is (re)dispatched: a task dispatched twice writes the same result
    # file, so a host that lost its place after a crash simply dispatches again.
    tasks = [r for r in missing if r["kind"] == "worker_task"]
    if tasks:
        workers = [{"worker": r["name"], "task_id": r["id"], "task_path": r["spec_path"],
                    "result_path": r["result_path"], "result_schema": RESULT_SCHEMAS[r["name"]],
                    "profile": PROFILES[r["name"]]} for r in tasks]
        return {"kind": "dispatch_workers", "workers": workers,
                "text": f"Dispatch {len(workers)} worker task(s); each writes its result file; then step again."}
    if envelope is not None and envelope["outcome"] == "wait":
        until = envelope["wait"]["until"]
        return {"kind": "wait", "until": until, "text": envelope["wait"]["reason"]}
    if envelope is not None and envelope["outcome"] == "retry" and envelope["retry"]["retry_after_seconds"]:
        until = add_seconds(state["updated_at"], envelope["retry"]["retry_after_seconds"])
        return {"kind": "wait", "until": until, "text": envelope["retry"]["reason"]}
    return {"kind": "step", "text": "Step again."}


def stop_action(campaign_dir, state) -> dict:
    terminal = state["terminal"] or {"state": state["machine_state"], "reason": "stopped"}
    found = "the results and the best configuration" if state["completed_iterations"] else "what happened"
    user_can = [f"Read .ml-metaopt/reports/final.md for {found}."]
    if state["block"]:
        user_can = [state["block"]["fix"], f"Then run: python3 {RESUME_SCRIPT} resume --project-root "
                    f"{campaign_dir.root}"[:300]] + user_can
    elif terminal["state"] == "FAILED":
        user_can.append("Fix the cause, then start a new campaign (or a new name) to try again.")
    return {"kind": "stop", "terminal_state": terminal["state"], "reason": terminal["reason"],
            "user_can": user_can, "text": f"Campaign {terminal['state']}: {terminal['reason']}"[:300]}


def step_output(state, applied, action) -> dict:
    return {"schema_version": 1, "campaign": state["campaign"]["name"], "machine_state": state["machine_state"],
            "status": state["status"], "phase": state["phase"], "iteration": state["iteration"],
            "step_seq": state["step_seq"], "applied": applied, "budget": budget_snapshot(state), "action": action}


def status_view(state, journal_tail, action) -> dict:
    """What a person reads in five seconds (also the --json document of `metaopt.py status`)."""
    sweep = state["current_sweep"]
    baseline = effective_baseline(state)
    return {
        "campaign": state["campaign"]["name"], "machine_state": state["machine_state"], "status": state["status"],
        "iteration": state["iteration"], "phase": state["phase"],
        "baseline": baseline["metric_value"] if baseline else None,
        "baseline_run": baseline.get("run_id") if baseline else None,
        "current_sweep_best": sweep["best_run"]["metric_value"] if sweep and sweep["best_run"] else None,
        "budget": budget_snapshot(state),
        "current_sweep": None if sweep is None else {k: sweep[k] for k in ("sweep_identity", "status", "trials")},
        "pending": [f"{r['id']} ({r['name']})" for r in state["pending"]],
        "block": state["block"], "recent": [e.get("summary", "") for e in journal_tail], "next_action": action,
    }
