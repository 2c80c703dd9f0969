#!/usr/bin/env python3
"""A stand-in for the executor in the simulated campaigns (tests only; the real one is
scripts/skypilot_wandb_worker.py): the same command line, the same lock on its directive, and
scripted answers from the scenario in .sim/scenario.json, on the simulated clock in .sim/clock.

Usage: python3 tests/sim_executor.py run --project-root DIR --directive FILE [--wait-limit SECONDS]

A poll that finds the sweep still running "waits" as a real local poll would: it moves the simulated
clock on by its wait (max_wait_seconds, capped by --wait-limit; at least a second). A directive run twice gives the same
answer (the answers are kept in .sim/sweeps.json).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Only the few light modules below: this runs as a child process for every executor directive of a
# simulated campaign, and importing tests/support.py (jsonschema and the validation layer) would cost
# each one more than its whole work.
SCRIPTS = str(Path(__file__).resolve().parents[1] / "scripts")
if SCRIPTS not in sys.path:
    sys.path.insert(0, SCRIPTS)

from metaopt_lib.contract.atomic_io import write_json_atomic, write_text_atomic
from metaopt_lib.contract.clock import add_seconds
from metaopt_lib.contract.locks import FileLock  # noqa: E402


@dataclass
class Scenario:
    """What the scripted world does: best metric per iteration, polls per sweep, spend per poll."""

    metrics: list = field(default_factory=lambda: [0.9, 0.8, 0.79, 0.7, 0.65, 0.6, 0.55])
    polls_to_finish: int = 2
    spend_per_poll: float = 0.05
    smoke_passes: bool = True
    worker_claims_improved: bool = True
    poll_failures: int = 0            # transient poll errors before each successful poll
    sweep_fails: bool = False
    teardown_failures: int = 0        # failed teardowns (of any sweep) before one succeeds
    running_at_cap: bool = False      # a poll reports the sweep running although spend reached the cap
    silent_workers: int = 0           # the first N dispatched worker tasks end without writing a result
    wrong_metric_workers: int = 0     # the next N ideation results name another metric


def load_scenario(root) -> Scenario:
    return Scenario(**json.loads((Path(root) / ".sim" / "scenario.json").read_text()))


def sim_now(root) -> str:
    return (Path(root) / ".sim" / "clock").read_text().strip()


def advance_clock(root, seconds) -> None:
    write_text_atomic(Path(root) / ".sim" / "clock", add_seconds(sim_now(root), math.ceil(seconds)))


def run_executor(root, directive_file, scenario, wait_limit=None):
    root = Path(root)
    directive = json.loads(Path(directive_file).read_text())
    ledger_path = root / ".sim" / "sweeps.json"
    sweeps = json.loads(ledger_path.read_text()) if ledger_path.exists() else {}
    done = sweeps.setdefault("_results", {})
    answer = done.get(directive["directive_id"])
    # A directive run twice gives the same answer while its result file is there, as the real executor
    # answers from it; a result moved away (a failed cleanup teardown set aside, a reset) is run again.
    if answer is not None and (root / directive["result_path"]).exists():
        write_json_atomic(root / directive["result_path"], answer)
        return
    payload, kind = directive["payload"], directive["type"]
    now = sim_now(root)
    base = {"schema_version": 1, "directive_id": directive["directive_id"], "type": kind, "status": "ok",
            "completed_at": now, "error": None}
    if kind == "run_smoke_test":
        passed = scenario.smoke_passes
        details = {"passed": passed, "exit_code": 0 if passed else 1, "timed_out": False, "duration_seconds": 3.0,
                   "stdout_tail": ["epoch 1"], "stderr_tail": [] if passed else ["Traceback: boom"]}
    elif kind == "launch_sweep":
        identity = payload["sweep_identity"]
        sweep = sweeps.setdefault(identity, {"launches": 0, "polls": 0, "failures": 0})
        reconnected = sweep["launches"] > 0
        sweep["launches"] += 0 if reconnected else 1
        details = {"sweep_identity": identity, "sweep_id": f"sim-{identity}", "sweep_url": None, "backend": "local",
                   "reconnected": reconnected, "run_cap": payload["sweep_config"]["run_cap"],
                   "agents_started": 0 if reconnected else payload["num_agents"],
                   "resources": [{"kind": "process", "name": f"runner-{identity}"}], "launched_at": now}
    elif kind == "poll_sweep":
        sweep = sweeps.setdefault(payload["sweep_identity"], {"launches": 0, "polls": 0, "failures": 0})
        base, details = _poll(base, payload, sweep, scenario, now)
        if details["sweep_status"] == "running":  # held open while the sweep runs; a poll takes a second
            wait = payload.get("max_wait_seconds", 0)
            advance_clock(root, max(1, wait if wait_limit is None else min(wait, wait_limit)))
    elif sweeps.get("_teardown_failures", 0) < scenario.teardown_failures:
        sweeps["_teardown_failures"] = sweeps.get("_teardown_failures", 0) + 1
        base = {**base, "status": "failed",
                "error": {"code": "sky-down-failed", "message": "cluster still up", "retryable": True}}
        details = {"sweep_identity": payload["sweep_identity"], "sweep_stopped": False, "resources_released": [],
                   "resources_remaining": [{"kind": "process", "name": f"runner-{payload['sweep_identity']}"}]}
    else:
        details = {"sweep_identity": payload["sweep_identity"], "sweep_stopped": True,
                   "resources_released": [{"kind": "process", "name": f"runner-{payload['sweep_identity']}"}],
                   "resources_remaining": []}
    done[directive["directive_id"]] = {**base, "details": details}
    write_json_atomic(ledger_path, sweeps)
    write_json_atomic(root / directive["result_path"], done[directive["directive_id"]])


def _poll(base, payload, sweep, scenario, now):
    if sweep["failures"] < scenario.poll_failures:
        sweep["failures"] += 1
        error = {"code": "spend-listing-failed", "message": "cost listing failed", "retryable": True}
        return {**base, "status": "failed", "error": error}, _poll_details(payload, sweep, scenario, now, False)
    sweep["failures"] = 0
    sweep["polls"] += 1
    return base, _poll_details(payload, sweep, scenario, now, True)


def _poll_details(payload, sweep, scenario, now, complete):
    iteration = int(payload["sweep_identity"].rsplit("-", 1)[1])
    metric = scenario.metrics[min(iteration, len(scenario.metrics)) - 1]
    spend = round(sweep["polls"] * scenario.spend_per_poll, 6)
    budget = payload["budget"]
    previous = round(max(0, sweep["polls"] - 1) * scenario.spend_per_poll, 6)
    spent = round(budget["spent_usd"] + spend - previous, 6)
    over = spent >= budget["max_budget_usd"] and not scenario.running_at_cap
    done = sweep["polls"] >= scenario.polls_to_finish
    status = ("budget_exceeded" if over else "failed" if scenario.sweep_fails and done
              else "finished" if done else "running")
    stop = {"budget_exceeded": "budget", "failed": "failed", "finished": "run_cap"}.get(status)
    best = {"run_id": f"trial-{iteration}-best", "run_url": None, "metric_value": metric,
            "config": {"lr": 0.01 * iteration, "batch_size": 64}}
    return {"sweep_identity": payload["sweep_identity"], "sweep_id": payload["sweep_id"], "sweep_status": status,
            "stop_reason": stop, "trials": {"finished": sweep["polls"], "running": 0 if stop else 1, "failed": 0,
                                            "killed": 0},
            "best_run": best, "spend": {"sweep_spend_usd": spend, "complete": complete,
                                        "sources": [{"name": "wall-clock", "ok": complete,
                                                     "usd": spend if complete else None}]},
            "budget": {"max_budget_usd": budget["max_budget_usd"], "spent_usd": spent,
                       "remaining_usd": round(max(0.0, budget["max_budget_usd"] - spent), 6)},
            "idle_killed": [], "resources_live": not (stop or over), "polled_at": now}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="sim_executor.py")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run")
    run.add_argument("--project-root", required=True)
    run.add_argument("--directive", required=True)
    run.add_argument("--wait-limit", type=float)
    opts = parser.parse_args(argv)
    with FileLock(opts.directive, create=False):
        run_executor(opts.project_root, opts.directive, load_scenario(opts.project_root), opts.wait_limit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
