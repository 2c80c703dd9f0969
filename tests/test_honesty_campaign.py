"""The honest account of a real local campaign (issue 13, honesty): with a noise floor and the
budget-matched random-search control on, every re-run and every control trial is a real run of the
training program, launched and polled like any sweep and paid from the same budget; the recorded noise
floor is the programs' own numbers, each verdict follows the rule from them, the control ran exactly
the campaign's trial budget, and the report says all of it."""
from __future__ import annotations

import csv
import tempfile
import unittest
from collections import Counter
from pathlib import Path

import support  # noqa: F401
from local_sweep_support import optuna_and_wandb, run_real_campaign
from metaopt_lib.contract.improvement import judge, mean_and_sd

REPORTS = Path(".ml-metaopt") / "reports"
SPACE = {"lr": {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 0.1}, "batch_size": {"values": [64, 128]}}


@unittest.skipUnless(optuna_and_wandb(), "needs optuna and wandb")
class HonestCampaign(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.root, cls.runs, cls.last, cls.state = run_real_campaign(cls._tmp.name, "train_seeded.py", **{
            "compute.run_cap": 2, "compute.num_sweep_agents": 2, "compute.local.hourly_cost_usd": 3.6,
            "objective.improvement_threshold": 0.0, "stop_conditions.max_iterations": 2,
            "search_space": SPACE, "honesty": {"noise_floor": {"repeats": 2}, "random_search_control": True}})
        cls.final = (cls.root / REPORTS / "final.md").read_text()

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def runs_of(self, identity):
        return [r for run_id, r in self.runs.items() if run_id.startswith(f"local-{identity}-t")]

    def test_the_campaign_completed_with_search_noise_floor_and_control_sweeps(self):
        self.assertEqual(self.last["machine_state"], "COMPLETE")
        self.assertEqual(Counter(run_id.rsplit("-t", 1)[0] for run_id in self.runs), {
            "local-sim-campaign-iter-1": 2, "local-sim-campaign-iter-1-noise": 2,
            "local-sim-campaign-iter-2": 2, "local-sim-campaign-iter-2-noise": 2,
            "local-sim-campaign-iter-2-control": 4})

    def test_each_noise_floor_re_ran_the_best_configuration_with_other_seeds(self):
        for record in self.state["completed_iterations"]:
            with self.subTest(iteration=record["iteration"]):
                noise, best = record["noise_floor"], record["best_run"]
                reruns = self.runs_of(noise["sweep_identity"])
                self.assertEqual({(r["lr"], r["batch_size"]) for r in reruns},
                                 {(best["config"]["lr"], best["config"]["batch_size"])})
                self.assertEqual(sorted(r["seed"] for r in reruns), [1, 2])
                self.assertEqual(noise["seed_parameter"], "seed", "the smoke test saw the program read its seed")
                self.assertEqual(sorted(noise["values"]), sorted(r["val_loss"] for r in reruns))
                mean, sd = mean_and_sd([r["val_loss"] for r in reruns])
                self.assertAlmostEqual(noise["mean"], mean)
                self.assertAlmostEqual(noise["sd"], sd)

    def test_each_verdict_follows_the_rule_from_the_programs_own_numbers(self):
        before = None
        for record in self.state["completed_iterations"]:
            noise = record["noise_floor"]
            verdict = judge(record["best_run"]["metric_value"], before, "minimize", 0.0, noise, 2)
            self.assertEqual(record["improved"], verdict.adopted)
            if verdict.adopted:
                self.assertAlmostEqual(record["baseline_after"], noise["mean"], msg="the baseline is the re-runs' mean")
            before = record["baseline_after"]
        self.assertEqual(self.state["baseline"]["metric_value"], before)

    def test_the_control_ran_the_campaigns_trial_budget_over_its_search_space(self):
        control = self.state["control"]
        searched = sum(r["trials"]["finished"] + r["trials"]["failed"] + r["trials"]["killed"]
                       for r in self.state["completed_iterations"])
        runs = self.runs_of(control["sweep_identity"])
        self.assertEqual((control["trial_budget"], len(runs), control["trials"]["finished"]), (searched, searched, 4))
        for run in runs:
            self.assertTrue(1.0e-4 <= run["lr"] <= 0.1 and run["batch_size"] in (64, 128) and run["seed"] == 0)
        best = min(runs, key=lambda r: r["val_loss"])
        self.assertEqual((control["best_run"]["run_id"], control["best_run"]["metric_value"]),
                         (best["run_id"], best["val_loss"]))

    def test_every_honesty_sweep_was_paid_from_the_campaigns_budget(self):
        ledger = self.state["spend_ledger"]
        entries = {e["sweep_identity"]: e["usd"] for e in ledger["entries"]}
        for identity in ("sim-campaign-iter-1-noise", "sim-campaign-iter-2-noise", "sim-campaign-iter-2-control"):
            self.assertGreater(entries.get(identity, 0), 0, identity)
        self.assertAlmostEqual(ledger["total_usd"], sum(entries.values()), places=5)
        noise = self.state["completed_iterations"][0]
        self.assertEqual(noise["noise_spend_usd"], entries["sim-campaign-iter-1-noise"])

    def test_trials_csv_holds_every_run_with_its_purpose(self):
        with open(self.root / REPORTS / "trials.csv", newline="") as handle:
            rows = list(csv.DictReader(handle))
        self.assertEqual(sorted(r["run_id"] for r in rows), sorted(self.runs))
        self.assertEqual(Counter(r["purpose"] for r in rows), {"search": 4, "noise_floor": 4, "control": 4})
        for row in rows:
            self.assertEqual(float(row["val_loss"]), self.runs[row["run_id"]]["val_loss"])

    def test_the_report_gives_the_noise_floor_and_what_the_agents_added(self):
        control = self.state["control"]
        ours = min(r["best_run"]["metric_value"] for r in self.state["completed_iterations"])
        self.assertIn("re-runs of the best: mean ± sd", self.final)
        self.assertIn("(2 of 2, seeds in `seed`)", self.final)
        section = self.final.split("## What the agents added")[1].split("\n## ")[0]
        self.assertIn("ran with the campaign's trial budget (4 trials", section)
        self.assertIn(f"| random search, same trial budget | {control['best_run']['metric_value']:.5g} |", section)
        self.assertIn(f"| the campaign's agents (best trial of its search sweeps) | {ours:.5g} |", section)
        self.assertIn("noise floor", section)
        top = self.final.split("## Top trials")[1].split("\n## ")[0]
        self.assertNotIn("noise", top, "the top trials are the search sweeps' own")
        self.assertNotIn("control", top)


if __name__ == "__main__":
    unittest.main()
