"""`metaopt.py run` as a user runs it, in its own process with the real executor and local backend:
SIGTERM while a worker CLI hangs stops the CLI and loses nothing; SIGKILL while a sweep runs, then
the same command again, finishes the campaign without launching that sweep a second time."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import sim_host
import support
import worker_cli_standin
from local_sweep_support import TRAINING, optuna_and_wandb, wait_until
from metaopt_lib.contract.process_group import group_alive, session_pids
from metaopt_lib.control.clock import SystemClock
from metaopt_lib.executor.local.processes import marked_pids

METAOPT = support.SCRIPTS / "metaopt.py"


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class RunSurvivesInterruptions(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root, self.standin, variables = worker_cli_standin.world(Path(tmp.name).resolve())
        shutil.copytree(TRAINING, self.root / "repo")
        sim_host.write_project(self.root, emitted_at=SystemClock().now(), **{
            "project.repo": "repo", "project.program": "train_lr.py", "project.smoke_test_command": None,
            "compute.run_cap": 2, "compute.num_sweep_agents": 1, "stop_conditions.max_iterations": 1,
            "proposal_policy.ideation_workers": 1,
            "search_space": {"lr": {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 0.1},
                             "batch_size": {"values": [32, 64, 128]}}})
        self.env = dict(os.environ, **variables)

    def start(self, *modes):
        (self.standin / "modes.json").write_text(json.dumps(list(modes)))
        return subprocess.Popen([sys.executable, str(METAOPT), "run", "--project-root", str(self.root),
                                 "--workers", "claude", "--json"], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def state(self):
        path = self.root / ".ml-metaopt" / "state.json"
        return json.loads(path.read_text()) if path.exists() else None

    def test_interrupted_and_killed_runs_continue_without_a_second_launch(self):
        # 1. SIGTERM while the ideation worker hangs: the worker's processes end, exit 130.
        run = self.start("hang")
        pids = wait_until(lambda: (self.standin / "hang.pids").exists() and (self.standin / "hang.pids").read_text(),
                          timeout=60, what="the worker CLI to start")
        run.send_signal(signal.SIGTERM)
        _, err = run.communicate(timeout=60)
        self.assertEqual(run.returncode, 130, err)
        self.assertIn("Interrupted. Nothing is lost", err)
        leader = int(pids.split()[0])  # the CLI leads a session of its own; its child is in it
        self.assertEqual((group_alive(leader), session_pids(leader)), (False, []), "the worker's processes survived")
        [task] = [r for r in self.state()["pending"] if r["kind"] == "worker_task"]
        self.assertEqual(task["attempt"], 1, "the interrupted attempt is not counted as failed")

        # 2. The same command again, SIGKILLed while the sweep runs.
        run = self.start()
        wait_until(lambda: (self.state() or {}).get("current_sweep") and
                   self.state()["current_sweep"]["status"] == "running", timeout=120, what="the sweep to run")
        run.kill()
        run.communicate(timeout=60)

        # 3. Once more: the campaign completes, polling the sweep the killed run launched.
        run = self.start()
        out, err = run.communicate(timeout=300)
        self.assertEqual(run.returncode, 0, err)
        document = json.loads(out)
        self.assertEqual(document["machine_state"], "COMPLETE")
        journal = [json.loads(line) for line in (self.root / ".ml-metaopt" / "journal.jsonl").read_text().splitlines()]
        launches = [e for e in journal if e.get("event") == "executor" and e["type"] == "launch_sweep"]
        self.assertEqual(len(launches), 1, launches)
        sweep_dir = self.root / ".ml-metaopt" / "sweeps" / "sim-campaign-iter-1"
        self.assertEqual([p.name for p in sweep_dir.parent.iterdir()], [sweep_dir.name])
        self.assertEqual(marked_pids("METAOPT_SWEEP_DIR", str(sweep_dir)), [], "the sweep left processes")


if __name__ == "__main__":
    unittest.main()
