"""Sweep configs are judged as W&B judges them (contract/wandb_conformance.py and the sweep checks).

The fixtures copied from W&B's verdict corpus are that corpus's configs unchanged and sit where W&B's
verdict puts them; on the whole corpus we agree with W&B on at least 95% of the real configs, and every
difference is one listed, with its reason, in INTENTIONAL_DIFFERENCES (and references/contracts.md).
"""
from __future__ import annotations

import json
import unittest

import support

from metaopt_lib.contract import validation
from metaopt_lib.contract.advisories import document_warnings
from metaopt_lib.contract.sweep_space import representative_point, space_hash, swept_keys
from metaopt_lib.contract.wandb_conformance import (CORPUS_FILE, INTENTIONAL_DIFFERENCES, MIN_AGREEMENT, judge,
                                                    load_corpus, our_verdict, summary)

SWEEPS = support.FIXTURES / "sweep-config"


def _sourced_fixtures():
    """(relative name, case entry) of every sweep-config fixture copied from the corpus."""
    return [(name, case) for name, case in support.fixture_cases("sweep-config").items() if case.get("source")]


class CorpusFixtures(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.corpus = load_corpus()

    def test_the_corpus_is_committed_with_its_attribution(self):
        document = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))
        self.assertIn("wandb/sweeps", document["about"])
        self.assertIn("MIT License", document["attribution"])
        self.assertGreaterEqual(sum(not case["probe"] for case in self.corpus.values()), 300)

    def test_enough_wandb_cases_are_fixtures(self):
        names = [name for name, _ in _sourced_fixtures()]
        self.assertGreaterEqual(sum(n.startswith("valid/") for n in names), 10)
        self.assertGreaterEqual(sum(n.startswith("invalid/") for n in names), 10)

    def test_each_sourced_fixture_is_its_corpus_config_unchanged(self):
        for name, case in _sourced_fixtures():
            with self.subTest(name):
                self.assertIn(case["source"], self.corpus)
                fixture = json.loads((SWEEPS / name).read_text(encoding="utf-8"))
                self.assertEqual(fixture, self.corpus[case["source"]]["config"])

    def test_each_sourced_fixture_sits_where_wandbs_verdict_puts_it(self):
        for name, case in _sourced_fixtures():
            with self.subTest(name):
                verdict = self.corpus[case["source"]]
                wandb_valid = verdict["wandb_accepts"] or verdict["wandb_deprecated_only"]
                if case["source"] in INTENTIONAL_DIFFERENCES:
                    wandb_valid = not wandb_valid
                self.assertEqual(name.startswith("valid/"), wandb_valid)

    def test_configs_wandb_only_warns_about_are_valid_with_a_warning(self):
        for name, case in _sourced_fixtures():
            if not self.corpus[case["source"]]["wandb_deprecated_only"]:
                continue
            with self.subTest(name):
                config = json.loads((SWEEPS / name).read_text(encoding="utf-8"))
                self.assertEqual(validation.validate_document("sweep-config", config, name), [])
                rules = {w.rule for w in document_warnings("sweep-config", config, name)}
                self.assertEqual(rules, {"sweep.deprecated_distribution"})


class WholeCorpus(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.judgements = judge(load_corpus())
        cls.report = summary(cls.judgements)

    def test_agreement_on_real_configs_is_at_least_95_percent(self):
        real = self.report["real"]
        self.assertGreaterEqual(real["agree"] / real["cases"], MIN_AGREEMENT, self.report["differences"])

    def test_every_difference_is_an_intended_one_and_every_intended_one_still_differs(self):
        differing = {j.name for j in self.judgements if not j.agrees}
        self.assertEqual(sorted(differing - set(INTENTIONAL_DIFFERENCES)), [], "unintended differences")
        self.assertEqual(sorted(set(INTENTIONAL_DIFFERENCES) - differing), [], "listed but now agreeing")

    def test_we_never_accept_what_wandb_refuses(self):
        loose = [j.name for j in self.judgements if j.wandb == "rejects" and j.ours != "rejects"]
        self.assertEqual(loose, [])

    def test_intended_differences_only_refuse_with_a_reason(self):
        for item in self.report["differences"]:
            with self.subTest(item["case"]):
                self.assertEqual(item["ours"], "rejects")
                self.assertTrue(item["reason"])


class Verdicts(unittest.TestCase):
    """Each W&B rule on its own, through the campaign's entry point (validation.validate_document)."""

    def verdict(self, **parameters):
        return our_verdict({"method": "random", "parameters": parameters})[0]

    def test_distributions_take_only_their_own_keys(self):
        refused = {"uniform with mu": {"distribution": "uniform", "min": 0.0, "max": 1.0, "mu": 0.5},
                   "normal with min": {"distribution": "normal", "min": 0.0},
                   "values with min": {"values": [1, 2], "min": 0},
                   "categorical with probabilities": {"distribution": "categorical", "values": [1, 2],
                                                      "probabilities": [0.5, 0.5]},
                   "value with values": {"value": 1, "values": [1]},
                   "int_uniform with q": {"min": 1, "max": 3, "q": 1},
                   "beta with sigma": {"distribution": "beta", "sigma": 1.0}}
        for name, spec in refused.items():
            with self.subTest(name):
                self.assertEqual(self.verdict(x=spec), "rejects")
        accepted = {"q_uniform with q": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.1},
                    "normal with mu and sigma": {"distribution": "normal", "mu": 0.0, "sigma": 2.0},
                    "weighted values": {"values": [1, 2], "probabilities": [0.25, 0.75]},
                    "mixed bounds": {"min": 0, "max": 1.5}}
        for name, spec in accepted.items():
            with self.subTest(name):
                self.assertEqual(self.verdict(x=spec), "accepts")

    def test_a_foreign_key_is_named_with_its_path_and_a_fix(self):
        config = {"method": "random", "parameters": {"opt": {"distribution": "categorical", "values": ["a", "b"],
                                                             "probabilities": [0.5, 0.5]}}}
        issue = validation.validate_document("sweep-config", config, "sweep config")[0]
        self.assertEqual((issue.rule, issue.path), ("sweep.key_not_for_distribution", "$.parameters.opt.probabilities"))
        self.assertIn("categorical_w_probabilities", issue.fix)

    def test_probabilities_sum_to_one_within_numpys_default_tolerance(self):
        self.assertEqual(self.verdict(x={"values": [1, 2], "probabilities": [0.499996, 0.5]}), "accepts")
        self.assertEqual(self.verdict(x={"values": [1, 2], "probabilities": [0.49998, 0.5]}), "rejects")

    def test_grid_enumerates_constants_values_and_integer_or_quantized_ranges_only(self):
        def grid(spec):
            config = {"method": "grid", "parameters": {"x": spec}}
            return [(i.rule, i.path) for i in validation.validate_document("sweep-config", config, "s")]

        for spec in ({"value": 1}, {"values": [1, 2]}, {"min": 1, "max": 4},
                     {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25}):
            self.assertEqual(grid(spec), [], spec)
        for spec, rule, path in (({"min": 0.0, "max": 1.0}, "sweep.grid_needs_discrete", "$.parameters.x"),
                                 ({"min": 0, "max": 1.0}, "sweep.grid_needs_discrete", "$.parameters.x"),
                                 ({"distribution": "normal"}, "sweep.grid_needs_discrete", "$.parameters.x"),
                                 ({"values": [1, 2], "probabilities": [0.5, 0.5]}, "sweep.grid_with_probabilities",
                                  "$.parameters.x.probabilities")):
            self.assertEqual(grid(spec), [(rule, path)], spec)

    def test_metric_and_hyperband_take_wandbs_optional_keys(self):
        config = {"method": "bayes", "parameters": {"x": {"values": [1, 2]}},
                  "metric": {"name": "loss", "impute": "worst", "impute_while_running": "false"},
                  "early_terminate": {"type": "hyperband", "min_iter": 2, "strict": False}}
        self.assertEqual(our_verdict(config)[0], "accepts")
        config["metric"]["impute"] = "median"
        self.assertEqual(our_verdict(config)[0], "rejects")

    def test_a_local_controller_is_refused_and_a_cloud_one_accepted(self):
        base = {"method": "random", "parameters": {"x": {"values": [1, 2]}}}
        self.assertEqual(our_verdict({**base, "controller": {"type": "cloud"}})[0], "accepts")
        issues = validation.validate_document("sweep-config", {**base, "controller": {"type": "local"}}, "s")
        self.assertEqual([(i.rule, i.path) for i in issues], [("sweep.local_controller", "$.controller.type")])
        self.assertIn("remove controller", issues[0].fix)

    def test_a_missing_goal_is_wandbs_minimize_against_the_objective(self):
        config = {"method": "random", "parameters": {"x": {"values": [1]}}, "metric": {"name": "acc"}}
        maximize = validation.Context(objective={"metric": "acc", "direction": "maximize"})
        minimize = validation.Context(objective={"metric": "acc", "direction": "minimize"})
        issues = validation.validate_document("sweep-config", config, "s", maximize)
        self.assertEqual([(i.rule, i.path) for i in issues], [("sweep.goal_mismatch", "$.metric.goal")])
        self.assertIn("no goal", issues[0].problem)
        self.assertEqual(validation.validate_document("sweep-config", config, "s", minimize), [])


class WeightedSpaces(unittest.TestCase):
    """The canonical space, the smoke test's point and the swept keys read weighted values as W&B does."""

    def test_implied_and_named_weighted_values_are_one_space_and_keep_their_order(self):
        implied = {"method": "random", "parameters": {"o": {"values": ["a", "b"], "probabilities": [0.2, 0.8]}}}
        named = {"method": "random", "parameters": {"o": {"distribution": "categorical_w_probabilities",
                                                          "values": ["a", "b"], "probabilities": [0.2, 0.8]}}}
        swapped = {"method": "random", "parameters": {"o": {"values": ["b", "a"], "probabilities": [0.2, 0.8]}}}
        self.assertEqual(space_hash(implied), space_hash(named))
        self.assertNotEqual(space_hash(implied), space_hash(swapped))  # weights belong to their values
        plain = [{"method": "random", "parameters": {"o": {"values": order}}} for order in (["a", "b"], ["b", "a"])]
        self.assertEqual(space_hash(plain[0]), space_hash(plain[1]))

    def test_the_smoke_test_runs_the_most_probable_value(self):
        self.assertEqual(representative_point({"o": {"values": ["a", "b", "c"], "probabilities": [0.0, 0.6, 0.4]}}),
                         {"o": "b"})
        self.assertEqual(representative_point({"o": {"values": ["a", "b"], "probabilities": [0.5, 0.5]}}),
                         {"o": "a"})

    def test_a_weighted_parameter_varies_only_with_two_values_of_positive_probability(self):
        params = {"fixed": {"values": ["a", "b"], "probabilities": [1.0, 0.0]},
                  "varied": {"values": ["a", "b"], "probabilities": [0.5, 0.5]}}
        self.assertEqual(swept_keys(params), ["varied"])


if __name__ == "__main__":
    unittest.main()
