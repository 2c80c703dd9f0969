"""metaopt-preflight: scripts/preflight.py over metaopt_lib.preflight, and LOAD_CAMPAIGN accepting its artifact.

The environment (importable modules, the executor, environment variables, home) is injected, so the
tests do not depend on optuna, wandb, skypilot or the executor being installed.
"""
from __future__ import annotations

import json
import sys
import os
import re
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import yaml

import support
import preflight as preflight_cli
from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract import validation
from metaopt_lib.contract.paths import CAMPAIGN_FILE, PREFLIGHT_FILE
from metaopt_lib.contract.redaction import REDACTED
from metaopt_lib.control import driver, engine
from metaopt_lib.control.state_store import CampaignDir
from metaopt_lib.handoffs import load_campaign
from metaopt_lib.preflight import checks as lib

NOW = "2026-11-22T09:00:00Z"
SENTINEL = "sentinel-wandb-key-0123456789abcdef"
SKYPILOT = {"backend": "skypilot", "run_cap": 4,
            "skypilot": {"provider": "vast_ai", "accelerator": "RTX4090:1", "max_hourly_cost_usd": 0.5}}


def campaign_document(**sections) -> dict:
    document = {
        "campaign": {"name": "preflight-test"},
        "project": {"program": "train.py", "smoke_test_command": "python3 train.py --epochs 1"},
        "wandb": {"entity": "me", "project": "demo"},
        "compute": {"run_cap": 4},
        "objective": {"metric": "val_loss", "direction": "minimize"},
        "stop_conditions": {"max_iterations": 3},
    }
    document.update(sections)
    return document


def everything_importable(name):
    return True


def executor_installed():
    return True


class PreflightCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name) / "project"
        self.home = Path(tmp.name) / "home"
        self.root.mkdir()
        self.home.mkdir()
        self.write_project()

    def write_project(self, document=None, program="train.py"):
        self.document = document or campaign_document()
        (self.root / CAMPAIGN_FILE).write_text(yaml.safe_dump(self.document, sort_keys=False), encoding="utf-8")
        if program:
            (self.root / program).parent.mkdir(parents=True, exist_ok=True)
            (self.root / program).write_text("import wandb\n", encoding="utf-8")

    def run_preflight(self, **overrides) -> lib.Outcome:
        kwargs = {"importable": everything_importable, "executor_exists": executor_installed, "environ": {},
                  "home": self.home, "now": NOW, **overrides}
        return lib.run(self.root, **kwargs)

    def assert_valid_artifact(self, artifact):
        issues = validation.validate_document("preflight-readiness", artifact, "artifact")
        self.assertEqual([i.message for i in issues], [])
        self.assertEqual(artifact["campaign_identity_hash"], campaign_lib.identity_hash(self.document))
        self.assertEqual(artifact["runtime_config_hash"], campaign_lib.runtime_config_hash(self.document))

    def results(self, artifact) -> dict:
        return {c["name"]: c["result"] for c in artifact["checks"]}

    def assert_failed(self, artifact, expected):
        self.assert_valid_artifact(artifact)
        self.assertEqual(artifact["status"], "FAILED")
        failed = {name for name, result in self.results(artifact).items() if result == "fail"}
        self.assertEqual(failed, set(expected))
        self.assertEqual([f["check"] for f in artifact["failures"]],
                         [c["name"] for c in artifact["checks"] if c["result"] == "fail"])
        fixes = {f["check"]: f["fix"] for f in artifact["failures"]}
        for name, fix_part in expected.items():
            self.assertIn(fix_part.lower(), fixes[name].lower())
        self.assertIn("run the preflight again", artifact["next_action"])


class ChecksTest(PreflightCase):
    def test_ready_on_a_valid_local_project(self):
        artifact = self.run_preflight().artifact
        self.assert_valid_artifact(artifact)
        self.assertEqual((artifact["status"], artifact["failures"], artifact["emitted_at"]), ("READY", [], NOW))
        self.assertEqual([c["name"] for c in artifact["checks"]], list(lib.CHECK_ORDER))
        results = self.results(artifact)
        for name in ("campaign-valid", "python-version", "runtime-packages", "project-program", "smoke-command",
                     "executor-present", "optuna-importable", "wandb-importable", "process-listing"):
            self.assertEqual(results[name], "pass", name)
        for name in ("skypilot-importable", "wandb-api-key", "skypilot-vast-credentials"):
            self.assertEqual(results[name], "skip", name)
        self.assertNotIn("\n", artifact["next_action"])
        self.assertIn("metaopt.py step", artifact["next_action"])

    def test_failed_checks_and_their_fixes(self):
        cases = {
            "missing program": (lambda: (self.root / "train.py").unlink(), {},
                                {"project-program": "project.program"}),
            "program in a missing repo": (lambda: self.write_project(campaign_document(project={
                "repo": "src", "program": "train.py", "smoke_test_command": "python3 train.py"}), program=None), {},
                {"project-program": "project.repo"}),
            "unparsable smoke command": (lambda: self.write_project(campaign_document(project={
                "program": "train.py", "smoke_test_command": 'python3 train.py --name "unclosed'})), {},
                {"smoke-command": "quotes"}),
            "blank smoke command": (lambda: self.write_project(campaign_document(project={
                "program": "train.py", "smoke_test_command": "   "})), {}, {"smoke-command": "smoke_test_command"}),
            "missing optuna": (None, {"importable": lambda name: name != "optuna"},
                               {"optuna-importable": f"{sys.executable} -m pip install optuna"}),
            "missing wandb": (None, {"importable": lambda name: name != "wandb"},
                              {"wandb-importable": "pip install wandb"}),
            "missing runtime package": (None, {"importable": lambda name: name != "jsonschema"},
                                        {"runtime-packages": "requirements.txt"}),
            "missing executor": (None, {"executor_exists": lambda: False},
                                 {"executor-present": "the executor starts"}),
            "old python": (None, {"version_info": (3, 9, 18)}, {"python-version": "3.10"}),
            "skypilot without credentials": (lambda: self.write_project(campaign_document(compute=SKYPILOT)), {},
                                             {"wandb-api-key": "wandb login",
                                              "skypilot-vast-credentials": "vastai set api-key"}),
            "skypilot without sky": (lambda: self.write_project(campaign_document(compute=SKYPILOT)),
                                     {"importable": lambda name: name != "sky", "environ": {"WANDB_API_KEY": "k" * 40}},
                                     {"skypilot-importable": "skypilot[vast]",
                                      "skypilot-vast-credentials": "vastai"}),
        }
        for label, (edit, overrides, expected) in cases.items():
            with self.subTest(case=label):
                self.write_project()
                if edit:
                    edit()
                self.assert_failed(self.run_preflight(**overrides).artifact, expected)

    def test_skypilot_with_credentials_is_ready(self):
        self.write_project(campaign_document(compute=SKYPILOT))
        (self.home / ".netrc").write_text("machine api.wandb.ai\n  login user\n  password " + SENTINEL + "\n")
        key = self.home / ".config" / "vastai" / "vast_api_key"
        key.parent.mkdir(parents=True)
        key.write_text("vast-secret-value\n")
        artifact = self.run_preflight().artifact
        self.assert_valid_artifact(artifact)
        self.assertEqual(artifact["status"], "READY")
        results = self.results(artifact)
        self.assertEqual(results["optuna-importable"], "skip")
        for name in ("wandb-importable", "skypilot-importable", "wandb-api-key", "skypilot-vast-credentials"):
            self.assertEqual(results[name], "pass", name)
        text = json.dumps(artifact)
        self.assertNotIn(SENTINEL, text)
        self.assertNotIn("vast-secret-value", text)

    def test_sky_is_imported_only_for_the_skypilot_backend(self):
        asked = []
        self.run_preflight(importable=lambda name: asked.append(name) or True)
        self.assertNotIn("sky", asked)
        self.assertEqual(lib.module_importable("json"), True)
        self.assertEqual(lib.module_importable("no_such_module_for_preflight"), False)
        self.assertEqual(lib.executor_present(), (support.ROOT / "scripts" / "skypilot_wandb_worker.py").is_file())

    def test_program_linked_outside_the_project_fails(self):
        outside = self.root.parent / "outside.py"
        outside.write_text("print()\n")
        (self.root / "train.py").unlink()
        (self.root / "train.py").symlink_to(outside)
        self.assert_failed(self.run_preflight().artifact, {"project-program": "inside the project"})

    def test_an_invalid_campaign_fails_with_the_first_problem_and_the_count(self):
        document = campaign_document(compute={"run_cap": 0, "num_sweep_agents": 0})
        self.write_project(document)
        artifact = self.run_preflight().artifact
        self.assert_failed(artifact, {"campaign-valid": "validate.py"})
        detail = next(c["detail"] for c in artifact["checks"] if c["name"] == "campaign-valid")
        self.assertIn("2 problems", detail)
        self.assertIn("$.compute", detail)
        for name in lib.CAMPAIGN_CHECKS:
            check = next(c for c in artifact["checks"] if c["name"] == name)
            self.assertEqual((check["result"], check["detail"]),
                             ("skip", "not checked: ml_metaopt_campaign.yaml is invalid"))

    def test_no_artifact_without_the_campaign_identity(self):
        for label, text in (("missing", None), ("unparsable", "campaign: [unclosed\n"),
                            ("no identity", "compute: {run_cap: 3}\n")):
            with self.subTest(case=label):
                path = self.root / CAMPAIGN_FILE
                if text is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_text(text, encoding="utf-8")
                outcome = self.run_preflight()
                self.assertIsNone(outcome.artifact)
                self.assertEqual(outcome.error["code"], "campaign-unreadable")
                self.assertTrue(outcome.checks)


class SecretsTest(PreflightCase):
    def test_a_wandb_key_in_the_environment_is_recorded_as_present_only(self):
        self.write_project(campaign_document(compute=SKYPILOT))
        artifact = self.run_preflight(environ={"WANDB_API_KEY": SENTINEL}).artifact
        check = next(c for c in artifact["checks"] if c["name"] == "wandb-api-key")
        self.assertEqual(check["result"], "pass")
        self.assertIn("present", check["detail"])
        self.assertNotIn(SENTINEL, json.dumps(artifact))

    def test_a_key_pasted_into_the_campaign_is_redacted(self):
        document = campaign_document(compute={"run_cap": SENTINEL})
        self.write_project(document)
        artifact = self.run_preflight(environ={"WANDB_API_KEY": SENTINEL}).artifact
        self.assertEqual(artifact["status"], "FAILED")
        self.assertNotIn(SENTINEL, json.dumps(artifact))
        self.assertIn(REDACTED, json.dumps(artifact))

    def test_the_cli_never_prints_or_writes_the_key(self):
        self.write_project(campaign_document(compute=SKYPILOT))
        with mock.patch.dict(os.environ, {"WANDB_API_KEY": SENTINEL, "HOME": str(self.home)}), \
                mock.patch.object(lib, "module_importable", everything_importable):
            code, out, err = support.run_cli(preflight_cli.main, ["--project-root", str(self.root)])
        self.assertEqual(code, 1, err)  # the Vast.ai key is missing
        written = (self.root / PREFLIGHT_FILE).read_text(encoding="utf-8")
        for text in (out, err, written):
            self.assertNotIn(SENTINEL, text)
        self.assertIn("wandb-api-key", written)


class CliTest(PreflightCase):
    def run_cli(self, argv, ready=True):
        with mock.patch.object(lib, "module_importable", everything_importable), \
                mock.patch.object(lib, "executor_present", lambda: ready):
            return support.run_cli(preflight_cli.main, argv)

    def test_ready_exits_0_writes_and_prints_the_artifact(self):
        code, out, err = self.run_cli(["--project-root", str(self.root)])
        self.assertEqual(code, 0, err)
        printed = json.loads(out)
        document, issues = validation.load_and_validate("preflight-readiness", self.root / PREFLIGHT_FILE)
        self.assertEqual([i.message for i in issues], [])
        self.assertEqual(document, printed)
        self.assertEqual(printed["status"], "READY")
        self.assertRegex(printed["emitted_at"], r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
        self.assert_valid_artifact(printed)
        self.assertEqual(list((self.root / ".ml-metaopt").glob("*.tmp")), [])

    def test_failed_exits_1_and_still_writes_the_artifact(self):
        code, out, err = self.run_cli(["--project-root", str(self.root)], ready=False)
        self.assertEqual(code, 1)
        self.assertEqual(json.loads(out)["status"], "FAILED")
        written = json.loads((self.root / PREFLIGHT_FILE).read_text(encoding="utf-8"))
        self.assertEqual(written["failures"][0]["check"], "executor-present")
        self.assertIn("executor-present", err)

    def test_no_identity_exits_1_and_writes_nothing(self):
        (self.root / CAMPAIGN_FILE).unlink()
        code, out, err = self.run_cli(["--project-root", str(self.root)])
        self.assertEqual(code, 1)
        report = json.loads(out)
        self.assertIsNone(report["artifact"])
        self.assertEqual(report["error"]["code"], "campaign-unreadable")
        self.assertFalse((self.root / PREFLIGHT_FILE).exists())

    def test_help_and_usage(self):
        code, out, _ = self.run_cli(["--help"])
        self.assertEqual(code, 0)
        self.assertIn("usage:", out)
        for argv in ([], ["--project-root"], ["--project-root", str(self.root / "nope")], ["--bogus", "x"]):
            with self.subTest(argv=argv):
                code, out, err = self.run_cli(argv)
                self.assertEqual(code, 2)
                self.assertEqual(out, "")
                self.assertIn("usage:", err)


class LoadCampaignAcceptsTheArtifact(PreflightCase):
    def load_step(self):
        cdir = CampaignDir(self.root)
        campaign, issues = cdir.campaign()
        self.assertEqual(issues, ())
        state = engine.initial_state(campaign, campaign_lib.identity_hash(campaign),
                                     campaign_lib.runtime_config_hash(campaign), NOW)
        inputs = driver.gather_inputs(cdir, state, issues, NOW)
        return load_campaign.handoff(state, campaign, inputs)

    def run_cli(self, ready=True):
        with mock.patch.object(lib, "module_importable", everything_importable), \
                mock.patch.object(lib, "executor_present", lambda: ready):
            return support.run_cli(preflight_cli.main, ["--project-root", str(self.root)])

    def test_ready_artifact_advances_and_a_compute_change_makes_it_stale(self):
        self.assertEqual(self.run_cli()[0], 0)
        envelope = self.load_step()
        self.assertEqual((envelope["outcome"], envelope["next_machine_state"]), ("advance", "HYDRATE_STATE"))
        self.write_project(campaign_document(compute={"run_cap": 8}))
        envelope = self.load_step()
        self.assertEqual((envelope["outcome"], envelope["next_machine_state"]), ("blocked", "BLOCKED_CONFIG"))
        self.assertEqual(envelope["block"]["code"], "preflight-stale")
        self.assertEqual(self.run_cli()[0], 0)
        self.assertEqual(self.load_step()["next_machine_state"], "HYDRATE_STATE")

    def test_failed_artifact_blocks_with_its_fix(self):
        self.assertEqual(self.run_cli(ready=False)[0], 1)
        envelope = self.load_step()
        self.assertEqual(envelope["block"]["code"], "preflight-failed")
        self.assertTrue(re.search("executor", json.dumps(envelope["block"])))


if __name__ == "__main__":
    unittest.main()
