"""scripts/validate.py: one JSON report, exit codes 0/1/2, kind inference, context files."""
import json
import tempfile
import unittest
from pathlib import Path

import support
import validate

CAMPAIGN = """\
campaign:
  name: demo-campaign
project:
  program: train.py
  smoke_test_command: python train.py --epochs 1
wandb:
  entity: acme
  project: demo
compute:
  run_cap: 8
objective:
  metric: val_loss
  direction: minimize
stop_conditions:
  max_iterations: 3
"""

IDEATION = {
    "schema_version": 1, "task_id": "iter-1-ideation-1", "worker": "metaopt-ideation-worker", "status": "ok",
    "proposals": [{"rationale": "Lower learning rates were stable.", "sweep_config": {
        "method": "random", "metric": {"name": "val_acc", "goal": "minimize"},
        "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-2}}}}],
}


class ValidateCli(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.dir = Path(tmp.name)
        self.campaign = self.dir / "ml_metaopt_campaign.yaml"
        self.campaign.write_text(CAMPAIGN, encoding="utf-8")

    def _write(self, name, text):
        path = self.dir / name
        path.write_text(text, encoding="utf-8")
        return path

    def test_valid_campaign_exits_0_with_one_json_report(self):
        code, out, err = support.run_cli(validate.main, [str(self.campaign)])
        self.assertEqual(code, 0, err)
        report = json.loads(out)
        self.assertEqual((report["kind"], report["valid"], report["errors"]), ("campaign", True, []))

    def test_invalid_campaign_exits_1_and_reports_every_error_sorted_by_path(self):
        bad = CAMPAIGN.replace("run_cap: 8", "run_cap: 0\n  idle_timeout_minutes: 1e3").replace(
            "direction: minimize", "direction: minimise").replace("stop_conditions:", "stop_condition:")
        path = self._write("ml_metaopt_campaign.yaml", bad)
        code, out, _ = support.run_cli(validate.main, [str(path)])
        self.assertEqual(code, 1)
        errors = json.loads(out)["errors"]
        self.assertEqual([e["path"] for e in errors], ["$.compute.idle_timeout_minutes", "$.compute.run_cap",
                                                       "$.objective.direction", "$.stop_condition",
                                                       "$.stop_conditions"])
        for error in errors:
            self.assertTrue(error["message"].startswith(f"{path}: {error['path']}: "))
            self.assertTrue(error["expected"] and error["fix"], error)
        by_path = {e["path"]: e for e in errors}
        self.assertIn("did you mean 'minimize'", by_path["$.objective.direction"]["fix"])
        self.assertIn("did you mean 'stop_conditions'", by_path["$.stop_condition"]["fix"])
        self.assertIn("1.0e+3", by_path["$.compute.idle_timeout_minutes"]["fix"])

    def test_explicit_kind_overrides_inference(self):
        path = self._write("anything.json", json.dumps(IDEATION))
        code, out, _ = support.run_cli(validate.main, ["ideation-result", str(path)])
        self.assertEqual((code, json.loads(out)["kind"]), (0, "ideation-result"))

    def test_campaign_context_adds_the_objective_checks(self):
        path = self._write("r.ideation-result.json", json.dumps(IDEATION))
        self.assertEqual(support.run_cli(validate.main, [str(path)])[0], 0)
        code, out, _ = support.run_cli(validate.main, [str(path), "--campaign", str(self.campaign)])
        self.assertEqual(code, 1)
        rules = {(e["rule"], e["path"]) for e in json.loads(out)["errors"]}
        self.assertEqual(rules, {("sweep.metric_name_mismatch", "$.proposals[0].sweep_config.metric.name")})

    def test_an_invalid_context_file_is_reported_instead_of_used(self):
        path = self._write("r.ideation-result.json", json.dumps(IDEATION))
        broken = self._write("ml_metaopt_campaign.yaml", "campaign: [\n")
        code, out, _ = support.run_cli(validate.main, [str(path), "--campaign", str(broken)])
        self.assertEqual(code, 1)
        self.assertEqual(json.loads(out)["file"], str(broken))

    def test_missing_file_is_an_invalid_report_not_a_traceback(self):
        code, out, _ = support.run_cli(validate.main, ["state", str(self.dir / "nope.json")])
        self.assertEqual((code, json.loads(out)["errors"][0]["rule"]), (1, "file.missing"))

    def test_usage_errors_exit_2_with_nothing_on_stdout(self):
        for argv in ([], ["bogus-kind", "x.json"], [str(self.dir / "unknown.txt")], ["a", "b", "c"]):
            with self.subTest(argv=argv):
                code, out, err = support.run_cli(validate.main, argv)
                self.assertEqual((code, out), (2, ""))
                self.assertIn("usage:", err)

    def test_help_exits_0(self):
        code, out, _ = support.run_cli(validate.main, ["--help"])
        self.assertEqual(code, 0)

    def test_kind_is_inferred_from_names_and_fixture_locations(self):
        from metaopt_lib.contract.validation import infer_kind
        cases = {"x/ml_metaopt_campaign.yaml": "campaign", "x/ml_metaopt_campaign.local.yaml": "campaign",
                 ".ml-metaopt/state.json": "state", ".ml-metaopt/preflight-readiness.json": "preflight-readiness",
                 "agents/workers.yaml": "worker-registry", "fixtures/directive/valid/a.json": "directive",
                 "h/0001.handoff-envelope.json": "handoff-envelope", "notes.json": None}
        for name, kind in cases.items():
            self.assertEqual(infer_kind(support.ROOT / name), kind, name)


if __name__ == "__main__":
    unittest.main()
