"""Shared setup of the local backend tests: a project with the real training script, directives
for one sweep, and waiting on conditions (with a deadline, never a blind sleep)."""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import support  # noqa: F401  (puts scripts/ on sys.path)
from metaopt_lib.contract import validation
from metaopt_lib.executor import core
from metaopt_lib.executor.local import backend as local_backend
from metaopt_lib.executor.local.sweep import SPEC_SCHEMA, SweepFiles, read_status, runner_alive
from metaopt_lib.executor.outcome import ExecContext
from metaopt_lib.executor.records import write_record

TRAINING = Path(__file__).resolve().parent / "training"
IDENTITY = "quad-iter-1"


def optuna_and_wandb() -> bool:
    try:
        import optuna  # noqa: F401
        import wandb  # noqa: F401
    except ImportError:
        return False
    return True


def wait_until(condition, timeout=60.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Project:
    """A temporary project with the training repo, and the directives of sweep IDENTITY."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name).resolve()
        shutil.copytree(TRAINING, self.root / "repo")
        self.results = self.root / "program-results"
        self.results.mkdir()
        self.ctx = ExecContext(self.root, env=dict(os.environ, METAOPT_TEST_RESULTS=str(self.results)))
        self.files = SweepFiles(self.root / ".ml-metaopt" / "sweeps" / IDENTITY)
        self.seq = 0

    def close(self):
        try:
            local_backend.stop_everything(self.files, "2026-11-22T00:00:00Z")
        except OSError:
            pass
        self._tmp.cleanup()

    def _directive(self, kind, payload) -> dict:
        self.seq += 1
        directive_id = f"{kind.split('_')[0]}-1-{self.seq}"
        directive = {"directive_id": directive_id, "type": kind, "iteration": 1,
                     "result_path": f".ml-metaopt/results/iter-1/{directive_id}.json", "payload": payload}
        issues = validation.validate_document("directive", directive, "test directive")
        assert not issues, issues[0].message
        return directive

    def launch_directive(self, parameters, method="bayes", run_cap=8, agents=2, hourly=0.0, wall_minutes=30,
                         budget=(10, 0), idle_minutes=15, **config) -> dict:
        sweep = {"method": method, "metric": {"name": "loss", "goal": "minimize"}, "parameters": parameters,
                 "run_cap": run_cap, "program": "train_quadratic.py", **config}
        cap, spent = budget
        return self._directive("launch_sweep", {
            "sweep_identity": IDENTITY, "backend": "local", "sweep_config": sweep, "num_agents": agents,
            "idle_timeout_minutes": idle_minutes,
            "budget": {"max_budget_usd": cap, "spent_usd": spent, "remaining_usd": round(cap - spent, 6)},
            "wandb": {"entity": "lab", "project": "quad"},
            "local": {"hourly_cost_usd": hourly, "max_wall_clock_minutes": wall_minutes, "repo": "repo"}})

    def poll_directive(self, budget=(10, 0), recorded=0.0, max_wait=0) -> dict:
        cap, spent = budget
        return self._directive("poll_sweep", {
            "sweep_identity": IDENTITY, "sweep_id": f"local-{IDENTITY}", "backend": "local",
            "idle_timeout_minutes": 15,
            "budget": {"max_budget_usd": cap, "spent_usd": spent, "remaining_usd": round(max(0, cap - spent), 6)},
            "recorded_sweep_spend_usd": recorded,
            "objective": {"metric": "loss", "direction": "minimize", "improvement_threshold": 0.0},
            "poll_attempt": 1, "max_wait_seconds": max_wait})

    def teardown_directive(self) -> dict:
        return self._directive("teardown", {"sweep_identity": IDENTITY, "sweep_id": f"local-{IDENTITY}",
                                            "backend": "local", "reason": "test teardown"})

    def launch_with_limits(self, directive, **spec_changes):
        """Launch with spec limits in seconds (the directive speaks minutes): write the spec the
        launch would write, changed, then let the real launch reconnect to it and start the runner."""
        spec = local_backend.new_spec(directive, self.ctx)
        spec.update(spec_changes)
        self.files.root.mkdir(parents=True, exist_ok=True)
        write_record(self.files.spec, SPEC_SCHEMA, spec)
        return self.run(directive)

    def run(self, directive, wait_limit=None) -> dict:
        """Run a directive through the executor core exactly as the CLI does; returns the result."""
        path = self.root / f"{directive['directive_id']}.directive.json"
        path.write_text(json.dumps(directive))
        code, result = core.run(path, dataclasses.replace(self.ctx, wait_limit=wait_limit))
        assert (code == 0) == (result["status"] == "ok")
        written = json.loads((self.root / directive["result_path"]).read_text())
        assert written == result
        assert validation.validate_document("executor-result", result, "result") == []
        return result

    def status(self):
        return read_status(self.files)

    def wait_finished(self, timeout=90.0):
        wait_until(lambda: (s := self.status()) is not None and s["state"] == "finished"
                   and not runner_alive(self.files), timeout, what="the sweep to finish")
        return self.status()

    def program_records(self) -> list:
        return [json.loads(p.read_text()) for p in sorted(self.results.glob("*.json"))]


def run_real_campaign(tmp_dir, program, **overrides):
    """A whole campaign of the simulated host with the real executor and local backend, on a copy of
    the test training scripts, each program recording its runs: (project root, the programs' records
    by run id, the step output that stopped it, the final state)."""
    root, runs, last, state, _ = _real_campaign(tmp_dir, program, overrides)
    return root, runs, last, state


_SHARED = {}


def shared_real_campaign(program, **overrides):
    """run_real_campaign's campaign, run once per test process for each program and settings (the tests
    that assert on the same kind of campaign share it and only read it; removed at exit): a namespace
    with root, runs, last, state and outputs (the (exit code, text) of every step the host made)."""
    key = (program, json.dumps(overrides, sort_keys=True))
    if key not in _SHARED:
        import atexit
        import types

        tmp = tempfile.TemporaryDirectory()
        atexit.register(tmp.cleanup)
        root, runs, last, state, outputs = _real_campaign(tmp.name, program, overrides)
        _SHARED[key] = types.SimpleNamespace(root=root, runs=runs, last=last, state=state, outputs=outputs)
    return _SHARED[key]


def _real_campaign(tmp_dir, program, overrides):
    import sys

    import sim_host
    from metaopt_lib.control.clock import SystemClock

    root = Path(tmp_dir).resolve() / "project"
    shutil.copytree(TRAINING, root / "repo")
    results = root.parent / "program-results"
    results.mkdir()
    sim_host.write_project(root, emitted_at=SystemClock().now(), **{
        "project.repo": "repo", "project.program": program,
        "project.smoke_test_command": f"env -u METAOPT_TEST_RESULTS {sys.executable} {program}", **overrides})
    host = sim_host.Host(root, real_executor_env=dict(os.environ, METAOPT_TEST_RESULTS=str(results)))
    last = host.run(max_steps=500)
    state = support.campaign_view(root)
    runs = {r["run_id"]: r for r in (json.loads(p.read_text()) for p in results.glob("*.json"))}
    return root, runs, last, state, list(host.outputs)


# The plain two-iteration campaign of real sweeps that tests/test_local_campaign.py and tests/test_report.py
# both check: three trials per sweep on two agents.
PLAIN_CAMPAIGN = ("train_lr.py", {"compute.run_cap": 3, "compute.num_sweep_agents": 2,
                                  "stop_conditions.max_iterations": 2})
