"""A simulated host for end-to-end tests: it loops on `metaopt.py step --json` and does exactly what
each step prints, with scripted workers and a stand-in executor that exist only in tests.

All memory lives in files under the project (the simulated clock in .sim/clock), so a host killed at
any point can be restarted and continues where the files say.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

import support  # noqa: F401
import metaopt

from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract.atomic_io import write_json_atomic, write_text_atomic
from metaopt_lib.contract.clock import add_seconds

START = "2026-11-22T08:00:00Z"


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


def campaign_document(**overrides) -> dict:
    document = {
        "campaign": {"name": "sim-campaign"},
        "project": {"program": "train.py", "smoke_test_command": "python3 train.py --smoke"},
        "wandb": {"entity": "sim", "project": "sim"},
        "compute": {"run_cap": 4, "max_budget_usd": 5.0, "local": {"hourly_cost_usd": 0.0}},
        "objective": {"metric": "val_loss", "direction": "minimize", "improvement_threshold": 0.005},
        "proposal_policy": {"ideation_workers": 2, "proposals_per_worker": 2, "max_pool_size": 6},
        "stop_conditions": {"max_iterations": 5, "no_improve_iterations": 3},
    }
    return support.set_dotted(document, overrides)


def write_project(root, scenario=None, preflight=True, **overrides) -> None:
    root = Path(root)
    document = campaign_document(**overrides)
    (root / "ml_metaopt_campaign.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    if preflight:
        write_preflight(root, document)
    write_json_atomic(root / ".sim" / "scenario.json", (scenario or Scenario()).__dict__)
    write_text_atomic(root / ".sim" / "clock", START)


def write_preflight(root, document, status="READY") -> None:
    checks = [{"name": "campaign-valid", "result": "pass" if status == "READY" else "fail", "detail": "ok"}]
    failures = [] if status == "READY" else [{"check": "campaign-valid", "message": "broken", "fix": "fix it"}]
    write_json_atomic(Path(root) / ".ml-metaopt" / "preflight-readiness.json", {
        "schema_version": 1, "status": status, "campaign_identity_hash": campaign_lib.identity_hash(document),
        "runtime_config_hash": campaign_lib.runtime_config_hash(document), "emitted_at": START,
        "checks": checks, "failures": failures, "next_action": "Run the campaign."})


class Host:
    def __init__(self, root, real_executor_env=None):
        """With `real_executor_env`, executor actions run the real executor command in that environment
        (as a host would: the printed argv, no shell); otherwise the stand-in below answers them."""
        self.root = Path(root)
        self.scenario = Scenario(**json.loads((self.root / ".sim" / "scenario.json").read_text()))
        self.real_executor_env = real_executor_env
        self.outputs = []

    @property
    def clock(self) -> str:
        return (self.root / ".sim" / "clock").read_text().strip()

    def _tick(self, until=None, seconds=1):
        moment = add_seconds(self.clock, seconds)
        write_text_atomic(self.root / ".sim" / "clock", max(moment, until or moment))

    def step(self, command="step") -> tuple:
        out = io.StringIO()
        code = metaopt.main([command, "--project-root", str(self.root), "--json", "--now", self.clock], out=out)
        document = json.loads(out.getvalue())
        self.outputs.append((code, out.getvalue()))
        return code, document

    def run(self, max_steps=600) -> dict:
        """Loop on step until stop; returns the last step output."""
        for _ in range(max_steps):
            code, document = self.step()
            if code != 0:
                raise AssertionError(f"step failed: {document}")
            action = document["action"]
            if action["kind"] == "stop":
                return document
            self.act(action)
        raise AssertionError("the campaign did not stop")

    def act(self, action):
        if action["kind"] == "dispatch_workers":
            for worker in action["workers"]:
                run_worker(self.root, worker["task_path"], self.scenario)
        elif action["kind"] == "run_executor" and self.real_executor_env is not None:
            subprocess.run(action["command"], env=self.real_executor_env, stdout=subprocess.DEVNULL, timeout=600)
        elif action["kind"] == "run_executor":
            run_executor(self.root, action["command"][-1], self.scenario, self.clock)
        elif action["kind"] == "wait":
            self._tick(until=action["until"], seconds=60)
        self._tick()


# -- scripted workers -----------------------------------------------------------------------------

def run_worker(root, task_path, scenario):
    task = json.loads((Path(root) / task_path).read_text())
    objective = task["objective"]
    metric = {"name": objective["metric"], "goal": objective["direction"]}
    head = {"schema_version": 1, "task_id": task["task_id"], "worker": task["worker"], "status": "ok"}
    if task["worker"] == "metaopt-ideation-worker":
        seed = sum(map(ord, task["task_id"]))
        proposals = [{"rationale": f"Search lr around {seed % 97 + k}.", "sweep_config": {
            "method": "random", "metric": metric,
            "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1.0e-5 * (seed % 97 + k + 1),
                                  "max": 0.1}, "batch_size": {"values": [64, 128]}}}}
            for k in range(task["context"]["proposals_requested"])]
        result = {**head, "proposals": proposals}
    elif task["worker"] == "metaopt-selection-worker":
        chosen = task["context"]["proposals"][0]
        result = {**head, "winning_proposal_id": chosen["proposal_id"], "sweep_config": chosen["sweep_config"],
                  "rationale": "The first candidate covers the most promising lr range."}
    else:
        result = {**head, "best_run_explanation": "The best run used a moderate learning rate.",
                  "learnings": [f"Iteration {task['iteration']}: moderate lr worked best."],
                  "improved": scenario.worker_claims_improved}
    write_json_atomic(Path(root) / task["result_path"], result)


# -- stand-in executor (tests only; the real one is scripts/skypilot_wandb_worker.py) -------------

def run_executor(root, directive_file, scenario, now):
    root = Path(root)
    directive = json.loads(Path(directive_file).read_text())
    ledger_path = root / ".sim" / "sweeps.json"
    sweeps = json.loads(ledger_path.read_text()) if ledger_path.exists() else {}
    done = sweeps.setdefault("_results", {})
    if directive["directive_id"] in done:  # a directive run twice gives the same answer
        write_json_atomic(root / directive["result_path"], done[directive["directive_id"]])
        return
    payload, kind = directive["payload"], directive["type"]
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
        base, details = _poll(base, payload, sweeps.setdefault(payload["sweep_identity"],
                                                               {"launches": 0, "polls": 0, "failures": 0}), scenario, now)
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
    over = spent >= budget["max_budget_usd"]
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


def checkpoints(root, store, observe=None, max_steps=600) -> dict:
    """Run the simulated host on the project at `root` until the campaign stops, keeping a copy of the
    project as it was right after the first step that reached each position, before the host acted on
    it (so the step's pending tasks and directives still wait for their results).

    Returns {(iteration, machine_state, phase): copy}; the copies live under `store`. `observe(root,
    code, document)` is called after every step, before the host acts."""
    import shutil

    root, store = Path(root), Path(store)
    host = Host(root)
    found = {}
    for number in range(max_steps):
        code, document = host.step()
        if observe is not None:
            observe(root, code, document)
        if code != 0:
            raise AssertionError(f"step failed: {document}")
        key = (document["iteration"], document["machine_state"], document["phase"])
        if key not in found:
            found[key] = store / f"{number:03d}-{document['machine_state'].lower()}-{document['phase']}"
            shutil.copytree(root, found[key], symlinks=True)
        if document["action"]["kind"] == "stop":
            return found
        host.act(document["action"])
    raise AssertionError("the campaign did not stop")


if __name__ == "__main__":
    Host(sys.argv[1]).run()
