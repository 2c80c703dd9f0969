"""The local backend's weighted choices and grid ranges (executor/local/search_choices.py), against what
W&B's sweeps library does: params.py draws values[argmin(u >= cumsum(probabilities))] for a uniform u;
grid_search.py runs range(min, max + 1) for int_uniform and numpy.arange(min, max, q) for q_uniform."""
from __future__ import annotations

import importlib.util
import json
import unittest
from collections import Counter

from support import FIXTURES

from metaopt_lib.executor.local.search_choices import (cumulative_weights, grid_range_size, grid_range_values,
                                                       weighted_index)
from metaopt_lib.executor.local.search_space import plan_search

HAVE_OPTUNA = importlib.util.find_spec("optuna") is not None
HAVE_NUMPY = importlib.util.find_spec("numpy") is not None
NEEDS_OPTUNA = unittest.skipUnless(HAVE_OPTUNA, "optuna is not installed (pip install -r requirements.txt)")

WEIGHTS = [0.2, 0.5, 0.0, 0.3]
WEIGHTED = {"method": "random", "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"opt": {"values": ["sgd", "adamw", "never", "lion"], "probabilities": WEIGHTS},
                           "lr": {"min": 0.0, "max": 1.0}}}
# A random sweep's draws: enough that each frequency's standard deviation is under 0.004; the seed is
# fixed, and the tolerance (0.02, five deviations) holds even if Optuna's random stream changed.
DRAWS, TOLERANCE = 20000, 0.02


def _draw(plan, count, seed=5):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=plan.make_sampler(seed), direction=plan.direction)
    distributions, runs = plan.distributions(), []
    for _ in range(count):
        trial = study.ask(distributions)
        runs.append(plan.wandb_params(trial.params))
        if plan.method == "bayes":
            study.tell(trial, float(runs[-1]["opt"] == "lion") + trial.params["lr"])  # something to model
    return runs


class WeightedIndex(unittest.TestCase):
    def test_each_value_holds_exactly_its_share_of_the_unit_interval(self):
        cumulative = cumulative_weights(WEIGHTS)
        self.assertEqual(cumulative[-1], 1.0)
        steps = 100_000
        counts = Counter(weighted_index(cumulative, i / steps) for i in range(steps))
        for index, weight in enumerate(WEIGHTS):
            self.assertAlmostEqual(counts[index] / steps, weight, delta=1 / steps)
        self.assertNotIn(2, counts)  # probability 0: never drawn

    def test_the_first_value_whose_cumulative_weight_exceeds_u_as_in_wandb(self):
        cumulative = cumulative_weights([0.25, 0.25, 0.5])
        self.assertEqual([weighted_index(cumulative, u) for u in (0.0, 0.2499, 0.25, 0.4999, 0.5, 0.9999)],
                         [0, 0, 1, 1, 2, 2])

    def test_u_of_one_gives_the_last_value_that_has_a_weight(self):
        self.assertEqual(weighted_index(cumulative_weights([0.5, 0.5, 0.0]), 1.0), 1)
        self.assertEqual(weighted_index(cumulative_weights([0.0, 1.0]), 0.0), 1)

    def test_sums_within_wandbs_tolerance_are_scaled_to_one(self):
        cumulative = cumulative_weights([0.333333, 0.333333, 0.333333])
        self.assertEqual(cumulative[-1], 1.0)
        self.assertEqual(weighted_index(cumulative, 0.9999999), 2)


class WeightedPlan(unittest.TestCase):
    def test_weighted_values_map_to_a_float_over_the_unit_interval(self):
        plan = plan_search(WEIGHTED)
        distribution = plan.distributions()["opt"]
        self.assertEqual((type(distribution).__name__, distribution.low, distribution.high),
                         ("FloatDistribution", 0.0, 1.0))
        self.assertEqual([plan.wandb_params({"opt": u, "lr": 0.5})["opt"] for u in (0.1, 0.3, 0.75, 0.95)],
                         ["sgd", "adamw", "lion", "lion"])

    def test_the_explicit_distribution_plans_the_same(self):
        spec = {"distribution": "categorical_w_probabilities", **WEIGHTED["parameters"]["opt"]}
        explicit = plan_search({**WEIGHTED, "parameters": {**WEIGHTED["parameters"], "opt": spec}})
        self.assertEqual(explicit.dimensions, plan_search(WEIGHTED).dimensions)

    def test_values_reach_the_run_as_fresh_json_copies(self):
        plan = plan_search({"method": "random", "parameters": {
            "arch": {"values": [[64, 64], {"kind": "wide"}], "probabilities": [0.5, 0.5]}}})
        first, second = plan.wandb_params({"arch": 0.1}), plan.wandb_params({"arch": 0.1})
        self.assertEqual(first, {"arch": [64, 64]})
        first["arch"].append(1)
        self.assertEqual(second, {"arch": [64, 64]})
        self.assertEqual(plan.wandb_params({"arch": 0.9}), {"arch": {"kind": "wide"}})

    @NEEDS_OPTUNA
    def test_a_random_sweep_draws_each_value_with_its_probability(self):
        runs = _draw(plan_search(WEIGHTED), DRAWS)
        counts = Counter(run["opt"] for run in runs)
        self.assertEqual(counts["never"], 0)
        for value, weight in zip(["sgd", "adamw", "lion"], [0.2, 0.5, 0.3]):
            with self.subTest(value):
                self.assertAlmostEqual(counts[value] / DRAWS, weight, delta=TOLERANCE)

    @NEEDS_OPTUNA
    def test_bayes_models_the_weighted_choice_and_stays_within_its_values(self):
        runs = _draw(plan_search({**WEIGHTED, "method": "bayes", "run_cap": 30}), 30)
        self.assertTrue({run["opt"] for run in runs} <= {"sgd", "adamw", "lion"})
        self.assertEqual(runs, _draw(plan_search({**WEIGHTED, "method": "bayes", "run_cap": 30}), 30))


class GridRanges(unittest.TestCase):
    def test_int_uniform_gives_every_integer_of_the_closed_range(self):
        plan = plan_search(json.loads((FIXTURES / "sweep-config/valid/wandb-grid-int-uniform.json").read_text()))
        self.assertEqual(plan.grid_size, 63)  # -52 .. 10
        points = [plan.wandb_params(p) for p in plan.grid_points()]
        self.assertEqual([p["v1"] for p in points], list(range(-52, 11)))
        self.assertEqual({p["v2"] for p in points}, {"test"})

    def test_q_uniform_gives_numpy_arange_of_min_max_q(self):
        spec = json.loads((FIXTURES / "sweep-config/valid/wandb-grid-q-uniform.json").read_text())
        plan = plan_search(spec)
        values = [plan.wandb_params(p)["v1"] for p in plan.grid_points()]
        self.assertEqual(values, grid_range_values("q_uniform", spec["parameters"]["v1"]))
        self.assertEqual(len(values), 14)
        self.assertEqual(values[:2], [-9.211, -6.87])
        self.assertLess(values[-1], 23.23)  # max excluded, as numpy.arange excludes it

    def test_q_uniform_types_follow_the_bounds_and_q(self):
        self.assertEqual(grid_range_values("q_uniform", {"min": 0, "max": 5, "q": 2}), [0, 2, 4])
        self.assertEqual(grid_range_values("q_uniform", {"min": 1, "max": 4}), [1.0, 2.0, 3.0])  # q 1.0
        self.assertEqual(grid_range_values("q_uniform", {"min": 0.0, "max": 0.35, "q": 0.1}),
                         [0.0, 0.1, 0.2, 0.30000000000000004])
        self.assertEqual(grid_range_size("int_uniform", {"min": 3, "max": 3 + 999}), 1000)

    @unittest.skipUnless(HAVE_NUMPY, "numpy is not installed (it comes with optuna)")
    def test_q_uniform_values_equal_numpy_arange(self):
        import numpy

        cases = [(-9.211, 23.23, 2.341), (0.1, 0.95, 0.05), (0, 7, 3), (0, 1, 0.3), (-1.5, 2, 0.7), (1e-3, 0.02, 1e-3),
                 (3, 4.5, 1), (0.0, 1.0, 1 / 3)]
        for low, high, q in cases:
            with self.subTest(low=low, high=high, q=q):
                expected = numpy.arange(low, high, q).tolist()
                self.assertEqual(grid_range_values("q_uniform", {"min": low, "max": high, "q": q}), expected)
                self.assertEqual(grid_range_size("q_uniform", {"min": low, "max": high, "q": q}), len(expected))

    def test_random_sweeps_keep_sampling_the_range_itself(self):
        plan = plan_search({"method": "random", "parameters": {"n": {"min": 1, "max": 3}}})
        self.assertEqual(type(plan.distributions()["n"]).__name__, "IntDistribution")

    def test_a_nested_integer_range_is_enumerated_too(self):
        plan = plan_search(json.loads((FIXTURES / "sweep-config/valid/wandb-grid-nested-int-range.json").read_text()))
        self.assertEqual([plan.wandb_params(p) for p in plan.grid_points()], [{"a": {"b": 0}}, {"a": {"b": 1}}])


if __name__ == "__main__":
    unittest.main()
