"""A whole local campaign with the real executor: scripted LLM workers, but real smoke test, real
sweeps of real training processes (wandb offline), real polls and teardown, all run by metaopt.py step
itself: the host only dispatches workers."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import unittest
from pathlib import Path

import yaml

import sim_host
import support
from local_sweep_support import PLAIN_CAMPAIGN, TRAINING, optuna_and_wandb, shared_real_campaign
from metaopt_lib.contract import validation
from metaopt_lib.control.clock import SystemClock
from metaopt_lib.executor.local.processes import marked_pids


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class LocalCampaignWithTheRealExecutor(unittest.TestCase):
    def test_two_iterations_of_real_sweeps_complete_and_leave_nothing_running(self):
        # The campaign tests/test_report.py reads too (run once per test process).
        program, settings = PLAIN_CAMPAIGN
        campaign = shared_real_campaign(program, **settings)
        root, last, state = campaign.root, campaign.last, campaign.state
        results = root.parent / "program-results"

        self.assertEqual(last["machine_state"], "COMPLETE")
        kinds = [json.loads(text)["action"]["kind"] for _, text in campaign.outputs]
        self.assertEqual(set(kinds) - {"step"}, {"dispatch_workers", "stop"}, "the host only dispatched workers")
        journal = [json.loads(line) for line in (root / ".ml-metaopt" / "journal.jsonl").read_text().splitlines()]
        ran = [e["type"] for e in journal if e.get("event") == "executor"]
        self.assertEqual({t: ran.count(t) >= 2 for t in ("run_smoke_test", "launch_sweep", "poll_sweep")},
                         {"run_smoke_test": True, "launch_sweep": True, "poll_sweep": True}, ran)
        runs = [json.loads(p.read_text()) for p in results.glob("*.json")]
        self.assertEqual(len(runs), 6, "two sweeps of run_cap 3 ran real training processes")
        # Each iteration's best run is the best of the runs its sweep's programs reported themselves.
        self.assertEqual(len(state["completed_iterations"]), 2)
        for record in state["completed_iterations"]:
            own = [r for r in runs if r["run_id"].startswith(f"local-{record['sweep_identity']}-")]
            self.assertEqual(len(own), 3)
            best = min(own, key=lambda r: r["val_loss"])
            self.assertEqual((record["best_run"]["run_id"], record["best_run"]["metric_value"]),
                             (best["run_id"], best["val_loss"]))
        self.assertEqual(state["baseline"]["metric_value"], state["completed_iterations"][-1]["baseline_after"])
        # Each sweep's trial table is the programs' own account of its trials.
        for record in state["completed_iterations"]:
            path = root / ".ml-metaopt" / "trials" / f"{record['sweep_identity']}.json"
            table = validation.load_valid("trial-table", path)
            own = {r["run_id"]: r for r in runs if r["run_id"].startswith(f"local-{record['sweep_identity']}-")}
            self.assertEqual(sorted(row["run_id"] for row in table["trials"]), sorted(own))
            for row in table["trials"]:
                program = own[row["run_id"]]
                self.assertEqual((row["state"], row["metric_value"], row["params"]["lr"], row["params"]["batch_size"]),
                                 ("finished", program["val_loss"], program["lr"], program["batch_size"]))
                self.assertGreater(row["duration_seconds"], 0)
        for identity in ("sim-campaign-iter-1", "sim-campaign-iter-2"):
            sweep_dir = root / ".ml-metaopt" / "sweeps" / identity
            self.assertEqual(marked_pids("METAOPT_SWEEP_DIR", str(sweep_dir)), [], f"{identity} left processes")
        self.assertFalse(state["current_sweep"] and state["current_sweep"]["resources_live"])

    def test_a_w_and_b_style_script_without_defaults_runs_with_no_smoke_command_and_a_bare_path(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        root = Path(tmp.name).resolve()
        shutil.copytree(TRAINING, root / "repo")
        settings = {"project.repo": "repo", "project.program": "train_no_defaults.py", "compute.run_cap": 2,
                    "stop_conditions.max_iterations": 1}
        sim_host.write_project(root, preflight=False, **settings)
        document = sim_host.campaign_document(**settings)
        del document["project"]["smoke_test_command"]  # the smoke test runs the program with one point
        (root / "ml_metaopt_campaign.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        sim_host.write_preflight(root, document, emitted_at=SystemClock().now())
        # The interpreter with wandb is not on PATH: the smoke test and the trials must still use it.
        host = sim_host.Host(root, real_executor_env=dict(os.environ, PATH="/usr/bin:/bin"))
        last = host.run(max_steps=100)
        state = support.campaign_view(root)
        self.assertEqual(last["machine_state"], "COMPLETE", last)
        [record] = state["completed_iterations"]
        self.assertEqual(record["trials"]["finished"], 2)
        self.assertIsNotNone(record["best_run"])
        smoke = sorted((root / ".ml-metaopt" / "archive" / "results").rglob("smoke-*.json"))
        details = json.loads(smoke[-1].read_text())["details"]
        self.assertEqual((details["passed"], details["metric_logged"], details["unread_keys"]), (True, True, []))


if __name__ == "__main__":
    unittest.main()
