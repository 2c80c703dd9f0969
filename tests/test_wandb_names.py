"""W&B's naming rules and warnings: entity and project names W&B refuses fail at validation (the campaign's
wandb section, a sweep config's entity and project keys); a metric name W&B's UI cannot sort by, an
entity spelled unlike W&B's new names and W&B's deprecated distributions are warnings, reported by
validate.py and the preflight (contract/advisories.py)."""
from __future__ import annotations

import json
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import yaml

import support
import preflight as preflight_cli
import validate

from metaopt_lib.contract import validation
from metaopt_lib.contract.advisories import document_warnings
from metaopt_lib.contract.paths import CAMPAIGN_FILE
from metaopt_lib.preflight import checks as preflight_lib


def campaign(**wandb) -> dict:
    document = yaml.safe_load((support.FIXTURES / "campaign/valid/minimal.yaml").read_text(encoding="utf-8"))
    document["wandb"].update(wandb)
    return document


def issues_at(document, kind="campaign"):
    return [(i.rule, i.path) for i in validation.validate_document(kind, document, "c")]


def warnings_at(document, kind="campaign"):
    return [(w.rule, w.path) for w in document_warnings(kind, document, "c")]


class EntityAndProjectNames(unittest.TestCase):
    def test_an_entity_with_a_space_fails_with_the_rule_and_a_fix(self):
        [issue] = validation.validate_document("campaign", campaign(entity="my entity"), CAMPAIGN_FILE)
        self.assertEqual((issue.rule, issue.path), ("schema.bad_format", "$.wandb.entity"))
        self.assertIn("no spaces", issue.expected)
        self.assertIn('e.g. "my-team"', issue.fix)

    def test_entity_characters_that_never_work_in_a_wandb_address_fail(self):
        for entity in ("my entity", "team/sub", "a\\b", "ml#lab", "who?", "100%", "ns:team", "tab\there", ""):
            with self.subTest(entity=entity):
                found = issues_at(campaign(entity=entity))
                self.assertTrue(found)
                self.assertEqual({path for _, path in found}, {"$.wandb.entity"})
        for entity in ("ml-lab", "my_team", "team42", "x"):
            with self.subTest(entity=entity):
                self.assertEqual((issues_at(campaign(entity=entity)), warnings_at(campaign(entity=entity))), ([], []))

    def test_an_entity_spelled_unlike_new_wandb_names_is_only_a_warning(self):
        for entity in ("MyTeam", "lab.team"):
            with self.subTest(entity=entity):
                self.assertEqual(issues_at(campaign(entity=entity)), [])
                self.assertEqual(warnings_at(campaign(entity=entity)),
                                 [("campaign.wandb_entity_unusual", "$.wandb.entity")])

    def test_project_names_follow_the_wandb_librarys_rule(self):
        for project in ("cifar10 resnet", "Vision_2026", "p" * 128):
            with self.subTest(project=project):
                self.assertEqual(issues_at(campaign(project=project)), [])
        for project, rule in (("a/b", "schema.bad_format"), ("x\\y", "schema.bad_format"), ("#1", "schema.bad_format"),
                              ("why?", "schema.bad_format"), ("50%", "schema.bad_format"),
                              ("a:b", "schema.bad_format"), ("p" * 129, "schema.bad_length")):
            with self.subTest(project=project):
                self.assertEqual(issues_at(campaign(project=project)), [(rule, "$.wandb.project")])

    def test_a_sweep_configs_entity_and_project_keys_follow_the_same_rules(self):
        base = {"method": "random", "parameters": {"x": {"values": [1]}}}
        self.assertEqual(issues_at({**base, "entity": "ml-lab", "project": "demo runs"}, "sweep-config"), [])
        self.assertEqual(issues_at({**base, "entity": "ml lab", "project": "a/b"}, "sweep-config"),
                         [("schema.bad_format", "$.entity"), ("schema.bad_format", "$.project")])


class Warnings(unittest.TestCase):
    def test_a_metric_name_wandb_cannot_sort_by_is_a_warning_with_a_suggestion(self):
        document = campaign()
        for name, suggestion in (("val/loss", "val_loss"), ("loss-train", "loss_train"), ("5_fold", "_5_fold")):
            with self.subTest(name=name):
                document["objective"]["metric"] = name
                self.assertEqual(issues_at(document), [])
                [warning] = document_warnings("campaign", document, CAMPAIGN_FILE)
                self.assertEqual((warning.rule, warning.path), ("sweep.metric_name_unsortable", "$.objective.metric"))
                self.assertIn(repr(suggestion), warning.fix)
        for name in ("val_loss", "_hidden", "Accuracy2"):
            document["objective"]["metric"] = name
            self.assertEqual(warnings_at(document), [], name)

    def test_sweep_configs_warn_about_their_metric_and_wandbs_deprecated_distributions(self):
        config = {"method": "random", "metric": {"name": "eval/acc", "goal": "maximize"},
                  "parameters": {"lr": {"distribution": "log_uniform", "min": -9.2, "max": -2.3},
                                 "block": {"parameters": {"n": {"distribution": "q_log_uniform", "min": 0, "max": 3}}},
                                 "ok": {"distribution": "log_uniform_values", "min": 1e-4, "max": 0.1}}}
        self.assertEqual(issues_at(config, "sweep-config"), [])
        self.assertEqual(warnings_at(config, "sweep-config"), [
            ("sweep.metric_name_unsortable", "$.metric.name"),
            ("sweep.deprecated_distribution", "$.parameters.block.parameters.n.distribution"),
            ("sweep.deprecated_distribution", "$.parameters.lr.distribution")])
        [lr] = [w for w in document_warnings("sweep-config", config, "c") if w.path == "$.parameters.lr.distribution"]
        self.assertIn("log_uniform_values", lr.fix)

    def test_a_campaign_search_space_warns_about_deprecated_distributions_too(self):
        document = campaign()
        document["search_space"] = {"lr": {"distribution": "inv_log_uniform", "min": 0.0, "max": 4.6}}
        self.assertEqual(warnings_at(document), [("sweep.deprecated_distribution", "$.search_space.lr.distribution")])

    def test_validate_reports_warnings_on_a_valid_file(self):
        path = support.FIXTURES / "sweep-config/valid/wandb-deprecated-log-uniform.json"
        code, out, err = support.run_cli(validate.main, [str(path)])
        report = json.loads(out)
        self.assertEqual((code, report["valid"], report["errors"]), (0, True, []))
        self.assertEqual([w["rule"] for w in report["warnings"]], ["sweep.deprecated_distribution"])
        self.assertIn("warning: ", err)

    def test_the_preflight_prints_campaign_warnings_and_stays_ready(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            document = campaign(entity="MyTeam")
            document["objective"]["metric"] = "val/acc"
            (root / CAMPAIGN_FILE).write_text(yaml.safe_dump(document), encoding="utf-8")
            (root / document["project"]["program"]).write_text("import wandb\n", encoding="utf-8")
            with mock.patch.object(preflight_lib, "module_importable", lambda name: True), \
                    mock.patch.object(preflight_lib, "executor_present", lambda: True):
                code, out, err = support.run_cli(preflight_cli.main, ["--project-root", str(root)])
        self.assertEqual((code, json.loads(out)["status"]), (0, "READY"), err)
        self.assertIn("warning: ml_metaopt_campaign.yaml: $.objective.metric: metric name 'val/acc'", err)
        self.assertIn("warning: ml_metaopt_campaign.yaml: $.wandb.entity: entity 'MyTeam'", err)


if __name__ == "__main__":
    unittest.main()
