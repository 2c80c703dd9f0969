"""The honesty sweeps survive a crash like any sweep: `metaopt.py run` SIGKILLed while the noise floor's
re-runs run, and again while the random-search control runs, then the same command once more: the
campaign completes, each of its three sweeps was launched once, and no trial ran twice (the training
program's own records count them)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from collections import Counter
from pathlib import Path

import sim_host
import support
from local_sweep_support import TRAINING, optuna_and_wandb, wait_until
from metaopt_lib.control.clock import SystemClock
from metaopt_lib.executor.local.processes import marked_pids

METAOPT = support.SCRIPTS / "metaopt.py"


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class HonestySweepsSurviveKills(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name).resolve() / "project"
        shutil.copytree(TRAINING, self.root / "repo")
        self.results = self.root.parent / "program-results"
        self.results.mkdir()
        sim_host.write_project(self.root, emitted_at=SystemClock().now(), **{
            "project.repo": "repo", "project.program": "train_seeded.py", "project.smoke_test_command": None,
            "compute.run_cap": 2, "compute.num_sweep_agents": 2, "stop_conditions.max_iterations": 1,
            "proposal_policy.ideation_workers": 1,
            "search_space": {"lr": {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 0.1},
                             "batch_size": {"values": [32, 64, 128]}},
            "honesty": {"noise_floor": {"repeats": 2}, "random_search_control": True}})
        self.env = dict(os.environ, METAOPT_TEST_RESULTS=str(self.results))

    def start(self):
        return subprocess.Popen([sys.executable, str(METAOPT), "run", "--project-root", str(self.root),
                                 "--workers", "heuristic", "--json"], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def running(self, purpose):
        path = self.root / ".ml-metaopt" / "state.json"
        sweep = json.loads(path.read_text())["current_sweep"] if path.exists() else None
        return bool(sweep) and sweep.get("purpose") == purpose and sweep["status"] == "running"

    def kill_while(self, purpose):
        run = self.start()
        wait_until(lambda: self.running(purpose) or run.poll() is not None, timeout=240, what=f"the {purpose} sweep")
        self.assertIsNone(run.poll(), f"the run ended before its {purpose} sweep ran")
        run.kill()
        run.communicate(timeout=60)

    def test_killed_during_the_noise_floor_and_the_control_the_campaign_completes_paying_each_trial_once(self):
        self.kill_while("noise_floor")
        self.kill_while("control")
        run = self.start()
        out, err = run.communicate(timeout=300)
        self.assertEqual(run.returncode, 0, err)
        self.assertEqual(json.loads(out)["machine_state"], "COMPLETE")
        journal = [json.loads(line) for line in (self.root / ".ml-metaopt" / "journal.jsonl").read_text().splitlines()]
        launches = [e for e in journal if e.get("event") == "executor" and e["type"] == "launch_sweep"]
        self.assertEqual(len(launches), 3, "the search sweep, the noise floor and the control, once each")
        runs = [json.loads(p.read_text())["run_id"] for p in self.results.glob("*.json")]
        runs = [run_id for run_id in runs if not run_id.startswith("smoke-")]  # the smoke test's own run
        self.assertEqual(Counter(run_id.rsplit("-t", 1)[0] for run_id in runs), {
            "local-sim-campaign-iter-1": 2, "local-sim-campaign-iter-1-noise": 2,
            "local-sim-campaign-iter-1-control": 2})
        state = support.campaign_view(self.root)
        self.assertEqual(len(state["completed_iterations"][0]["noise_floor"]["values"]), 2)
        self.assertEqual(state["control"]["trials"]["finished"], 2)
        sweeps = self.root / ".ml-metaopt" / "sweeps"
        for sweep_dir in sweeps.iterdir():
            self.assertEqual(marked_pids("METAOPT_SWEEP_DIR", str(sweep_dir)), [], f"{sweep_dir.name} left processes")


if __name__ == "__main__":
    unittest.main()
