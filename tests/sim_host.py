"""A simulated host for end-to-end tests: it loops on `metaopt.py step --json` and does exactly what
each step prints, with scripted workers; the step runs a stand-in executor (tests/sim_executor.py) as
its child process, on a simulated clock, exactly where it would run the real one.

All memory lives in files under the project (the simulated clock in .sim/clock), so a host killed at
any point can be restarted and continues where the files say. A host made with no_executor=True runs
the step with --no-executor and carries out the executor commands itself (the stand-in, in-process).
"""
from __future__ import annotations

import io
import json
import math
import shutil
import sys
from pathlib import Path

import yaml

import support  # noqa: F401
import metaopt

import sim_executor
from sim_executor import Scenario, load_scenario  # noqa: F401  (the scripted world, shared with the stand-in)
from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract.atomic_io import write_json_atomic, write_text_atomic
from metaopt_lib.contract.clock import parse_time
from metaopt_lib.control import driver
from metaopt_lib.control.clock import SystemClock
from metaopt_lib.control import executor_runs
from metaopt_lib.control.executor_runs import SubprocessExecutor

# The step looks at its executor child every CHILD_CHECK_SECONDS (0.1 s); the stand-in answers in a few
# hundredths of a second, so a simulated campaign spent 40% of its time asleep in that loop. A simulated
# host looks every 10 ms: the same loop, only more often (no outcome depends on how often).
assert hasattr(executor_runs, "CHILD_CHECK_SECONDS"), "the executor-run poll interval moved: update this"
executor_runs.CHILD_CHECK_SECONDS = 0.01

START = "2026-11-22T08:00:00Z"
SIM_EXECUTOR = Path(__file__).resolve().with_name("sim_executor.py")
# What SKILL.md tells a host with a 600 s tool-call limit to pass.
MAX_WAIT = 540


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


def write_project(root, scenario=None, preflight=True, emitted_at=START, **overrides) -> None:
    """A simulated project; `emitted_at` dates its preflight (the real clock's now for a real run)."""
    root = Path(root)
    document = campaign_document(**overrides)
    (root / "ml_metaopt_campaign.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    if preflight:
        write_preflight(root, document, emitted_at=emitted_at)
    write_json_atomic(root / ".sim" / "scenario.json", (scenario or Scenario()).__dict__)
    write_text_atomic(root / ".sim" / "clock", START)


def write_preflight(root, document, status="READY", emitted_at=START) -> None:
    checks = [{"name": "campaign-valid", "result": "pass" if status == "READY" else "fail", "detail": "ok"}]
    failures = [] if status == "READY" else [{"check": "campaign-valid", "message": "broken", "fix": "fix it"}]
    write_json_atomic(Path(root) / ".ml-metaopt" / "preflight-readiness.json", {
        "schema_version": 1, "status": status, "campaign_identity_hash": campaign_lib.identity_hash(document),
        "runtime_config_hash": campaign_lib.runtime_config_hash(document), "emitted_at": emitted_at,
        "checks": checks, "failures": failures, "next_action": "Run the campaign."})


class SimClock:
    """The simulated clock in .sim/clock, shared with the stand-in executor: sleeping moves it on."""

    frozen = False

    def __init__(self, root):
        self.path = Path(root) / ".sim" / "clock"

    def now(self) -> str:
        return self.path.read_text().strip()

    def monotonic(self) -> float:
        return parse_time(self.now()).timestamp()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            sim_executor.advance_clock(self.path.parents[1], math.ceil(seconds))


class Host:
    def __init__(self, root, real_executor_env=None, no_executor=False, max_wait=MAX_WAIT):
        """With `real_executor_env`, the step runs the real executor in that environment on the real
        clock; otherwise the stand-in on the simulated clock. With `no_executor`, the step prints the
        executor commands and this host runs the stand-in for them."""
        self.root = Path(root)
        self.scenario = load_scenario(self.root)
        self.real = real_executor_env is not None
        self.no_executor = no_executor
        self.max_wait = max_wait
        self.executor = (SubprocessExecutor(env=real_executor_env) if self.real
                         else SubprocessExecutor(script=SIM_EXECUTOR))
        self.outputs = []       # (exit code, stdout text) of every step
        self.tool_calls = 0     # what a real host would spend turns on: steps, dispatch rounds, commands

    @property
    def clock(self) -> str:
        return (self.root / ".sim" / "clock").read_text().strip()

    def _tick(self, until=None, seconds=1):
        SimClock(self.root).sleep(seconds)
        if until is not None and parse_time(self.clock) < parse_time(until):
            write_text_atomic(self.root / ".sim" / "clock", until)

    def step(self, command="step", *extra) -> tuple:
        out = io.StringIO()
        argv = [command, "--project-root", str(self.root), "--json", "--max-wait", str(self.max_wait), *extra]
        if self.no_executor:
            argv.append("--no-executor")
        clock = SystemClock() if self.real else SimClock(self.root)
        code = metaopt.main(argv, out=out, clock=clock, executor=self.executor)
        self.tool_calls += 1
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
            self.tool_calls += 1  # one dispatch round, however many workers run in it
            for worker in action["workers"]:
                run_worker(self.root, worker["task_path"], self.scenario)
        elif action["kind"] == "run_executor":
            self.tool_calls += 1
            sim_executor.run_executor(self.root, action["command"][-1], self.scenario)
        elif action["kind"] == "step" and action.get("until"):
            self._tick(until=action["until"])
        if not self.real:
            self._tick()


# -- scripted workers -----------------------------------------------------------------------------

def _fault(root, kind, limit) -> bool:
    """Whether this worker run is one of the first `limit` of a scripted fault (counted in .sim/)."""
    path = Path(root) / ".sim" / "faults.json"
    counts = json.loads(path.read_text()) if path.exists() else {}
    if counts.get(kind, 0) >= limit:
        return False
    counts[kind] = counts.get(kind, 0) + 1
    write_json_atomic(path, counts)
    return True


def run_worker(root, task_path, scenario):
    task = json.loads((Path(root) / task_path).read_text())
    if _fault(root, "silent", scenario.silent_workers):
        return
    objective = task["objective"]
    metric = {"name": objective["metric"], "goal": objective["direction"]}
    if task["worker"] == "metaopt-ideation-worker" and _fault(root, "wrong-metric", scenario.wrong_metric_workers):
        metric = {"name": "some_other_metric", "goal": objective["direction"]}
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


def checkpoints(root, store, observe=None, max_steps=600) -> dict:
    """Run the simulated host on the project at `root` until the campaign stops, keeping a copy of the
    project as it was right after the first engine step that reached each position, before anything
    acted on it (so that engine step's pending tasks and directives still wait for their results).

    Returns {(iteration, machine_state, phase): copy}; the copies live under `store`. `observe(root,
    code, document)` is called after every step, before the host acts."""
    root, store = Path(root), Path(store)
    host = Host(root, no_executor=True)
    found = {}
    real_engine_step = driver.engine_step

    def engine_step(cdir, now):
        state, envelope = real_engine_step(cdir, now)
        key = (state["iteration"], state["machine_state"], state["phase"])
        if key not in found:
            found[key] = store / f"{len(found):03d}-{state['machine_state'].lower()}-{state['phase']}"
            shutil.copytree(root, found[key], symlinks=True)
        return state, envelope

    driver.engine_step = engine_step
    try:
        for _ in range(max_steps):
            code, document = host.step()
            if observe is not None:
                observe(root, code, document)
            if code != 0:
                raise AssertionError(f"step failed: {document}")
            if document["action"]["kind"] == "stop":
                return found
            host.act(document["action"])
    finally:
        driver.engine_step = real_engine_step
    raise AssertionError("the campaign did not stop")


if __name__ == "__main__":
    Host(sys.argv[1]).run()
