"""The report of a real local campaign (issue 13): trials.csv is the programs' own account of every
trial, final.md says what a person needs and says it truly, best-config.yaml and `metaopt.py best`
give the best configuration, and the reproduce command runs the best trial again to the same metric."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

import support  # noqa: F401
import metaopt
from local_sweep_support import PLAIN_CAMPAIGN, optuna_and_wandb, shared_real_campaign
from metaopt_lib.contract import validation
from metaopt_lib.report.markdown import iteration_rows

REPORTS = Path(".ml-metaopt") / "reports"


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class ReportOfARealCampaign(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The campaign tests/test_local_campaign.py checks too (run once per test process).
        program, settings = PLAIN_CAMPAIGN
        campaign = shared_real_campaign(program, **settings)
        cls.root, cls.runs, cls.last, cls.state = campaign.root, campaign.runs, campaign.last, campaign.state
        cls.final = (cls.root / REPORTS / "final.md").read_text()

    def test_the_campaign_completed_with_two_sweeps_of_real_trials(self):
        self.assertEqual(self.last["machine_state"], "COMPLETE")
        self.assertEqual(len(self.runs), 6)

    def test_trials_csv_is_the_programs_own_account_of_every_trial(self):
        with open(self.root / REPORTS / "trials.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        self.assertEqual(sorted(r["run_id"] for r in rows), sorted(self.runs))
        for row in rows:
            own = self.runs[row["run_id"]]
            self.assertEqual((row["state"], float(row["val_loss"]), float(row["param.lr"]), int(row["param.batch_size"])),
                             ("finished", own["val_loss"], own["lr"], own["batch_size"]))
            self.assertEqual(row["sweep"], f"sim-campaign-iter-{row['iteration']}")
            self.assertGreater(float(row["duration_seconds"]), 0)
        self.assertEqual(sorted(int(r["trial"]) for r in rows if r["iteration"] == "1"), [1, 2, 3])

    def test_final_report_names_the_objective_the_best_and_why_the_campaign_stopped(self):
        best = min(self.runs.values(), key=lambda r: r["val_loss"])
        self.assertIn("Objective: `val_loss`, lower is better", self.final)
        self.assertIn(f"Why it stopped: {self.state['terminal']['reason']}", self.final)
        self.assertIn(f"run `{best['run_id']}`", self.final)
        self.assertIn(f"| `lr` | `{best['lr']}` |", self.final)
        self.assertIn("## Spend", self.final)
        for heading in ("## Best configuration", "## Iterations", "## Top trials", "## Charts", "## Learnings",
                        "## Where to look further"):
            self.assertIn(heading, self.final)
        self.assertIn("optuna-dashboard .ml-metaopt/sweeps/sim-campaign-iter-1/study.journal", self.final)
        self.assertTrue((self.root / ".ml-metaopt/sweeps/sim-campaign-iter-1/study.journal").is_file())
        self.assertTrue(list((self.root / ".ml-metaopt/sweeps/sim-campaign-iter-1/trials").glob(
            "*/wandb/offline-run-*")), "the wandb sync path the report names exists")

    def test_the_top_trials_are_the_best_trials_in_order(self):
        table = self.final.split("## Top trials")[1].split("##")[0]
        listed = [line.split("`")[1] for line in table.splitlines() if line.startswith("| ") and "`" in line]
        expected = sorted(self.runs.values(), key=lambda r: r["val_loss"])
        self.assertEqual([self.runs[run]["val_loss"] for run in listed], [r["val_loss"] for r in expected])

    def test_each_iteration_has_its_report_and_its_verdict(self):
        for record in self.state["completed_iterations"]:
            text = (self.root / REPORTS / f"iteration-{record['iteration']}.md").read_text()
            self.assertIn(f"# Iteration {record['iteration']}", text)
            self.assertIn("adopted" if record["improved"] else "not", text)

    def test_the_best_command_and_file_give_the_adopted_best(self):
        out = io.StringIO()
        self.assertEqual(metaopt.main(["best", "--project-root", str(self.root), "--json"], out=out), 0)
        document = json.loads(out.getvalue())
        self.assertEqual(validation.validate_document("best-output", document, "best"), [])
        baseline = self.state["baseline"]
        self.assertEqual((document["best"]["metric_value"], document["best"]["run_id"]),
                         (baseline["metric_value"], baseline["run_id"]))
        config = yaml.safe_load((self.root / REPORTS / "best-config.yaml").read_text())
        self.assertEqual({k: v["value"] for k, v in config.items() if k != "wandb_version"}, baseline["config"])

    def test_the_reproduce_command_runs_the_best_trial_again_to_the_same_metric(self):
        out = io.StringIO()
        metaopt.main(["best", "--project-root", str(self.root), "--json"], out=out)
        document = json.loads(out.getvalue())
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        again = Path(tmp.name)
        # The user's python3 is the one with the program's packages: this interpreter's.
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        env = dict(os.environ, METAOPT_TEST_RESULTS=str(again), WANDB_DIR=str(again), PATH=path)
        subprocess.run(["/bin/sh", "-c", document["reproduce_command"]], env=env, check=True, capture_output=True,
                       cwd=self.root.parent)
        [record] = [json.loads(p.read_text()) for p in again.glob("*.json")]
        self.assertEqual((record["lr"], record["val_loss"]),
                         (document["best"]["config"]["lr"], document["best"]["metric_value"]))


class ThresholdReasoning(unittest.TestCase):
    def test_a_better_value_below_the_threshold_is_reported_as_not_adopted(self):
        state = {"hydration": None, "completed_iterations": [
            {"iteration": 1, "sweep_identity": "c-iter-1", "best_run": {"metric_value": 2844.2}, "baseline_after": 2844.2,
             "improved": True, "spend_usd": 0},
            {"iteration": 2, "sweep_identity": "c-iter-2", "best_run": {"metric_value": 2838.8}, "baseline_after": 2844.2,
             "improved": False, "spend_usd": 0}]}
        rows = iteration_rows(state, 10.0, "minimize")
        self.assertEqual(rows[0]["why"], "the first result: adopted as the baseline")
        self.assertEqual(rows[1]["why"], "better by 5.4, but not by more than the improvement threshold 10: not adopted")
        self.assertEqual((rows[1]["baseline_before"], rows[1]["best_seen"]), (2844.2, 2838.8))


if __name__ == "__main__":
    unittest.main()
