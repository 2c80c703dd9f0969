"""The local backend's mapping of a W&B sweep config onto an Optuna search (executor/search_space.py).

Values are drawn through real, seeded Optuna studies and compared with what W&B's sweeps library
gives a run for the same spec: range, quantization, type, and the shape of the distribution."""
from __future__ import annotations

import importlib.util
import itertools
import json
import math
import statistics
import subprocess
import sys
import unittest

from support import FIXTURES, SCRIPTS

from metaopt_lib.executor.local.search_choices import MAX_GRID_RANGE_VALUES
from metaopt_lib.executor.local.search_space import (MAPPING_ROWS, SearchPlan, SearchSpaceError,
                                                     mapping_table_markdown, plan_search)

HAVE_OPTUNA = importlib.util.find_spec("optuna") is not None
NEEDS_OPTUNA = unittest.skipUnless(HAVE_OPTUNA, "optuna is not installed (pip install -r requirements.txt)")
DRAWS = 500

# One random sweep holding every distribution the local backend maps.
EVERY_MAPPED = {
    "method": "random",
    "metric": {"name": "val_loss", "goal": "minimize"},
    "run_cap": 40,
    "parameters": {
        "epochs": {"min": 2, "max": 5},
        "shift": {"distribution": "int_uniform", "min": -1, "max": 1},
        "dropout": {"min": 0.1, "max": 0.5},
        "scale": {"distribution": "uniform", "min": 1, "max": 3},
        "width": {"distribution": "q_uniform", "min": 10, "max": 100, "q": 16},
        "ratio": {"distribution": "q_uniform", "min": 0.0, "max": 1.0, "q": 0.25},
        "steps": {"distribution": "q_uniform", "min": 0.0, "max": 10.0},
        "lr_exp": {"distribution": "log_uniform", "min": -9.2, "max": -2.3},
        "lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "inv": {"distribution": "inv_log_uniform", "min": 0.0, "max": 4.6},
        "inv_values": {"distribution": "inv_log_uniform_values", "min": 0.01, "max": 100.0},
        "hidden_exp": {"distribution": "q_log_uniform", "min": 2.0, "max": 6.0, "q": 8},
        "hidden": {"distribution": "q_log_uniform_values", "min": 1.0, "max": 1000.0},
        "init": {"distribution": "normal", "mu": 2.0, "sigma": 0.5},
        "noise": {"distribution": "normal"},
        "warmup": {"distribution": "q_normal", "mu": 500, "sigma": 100, "q": 50},
        "clip": {"distribution": "log_normal", "mu": 1.0, "sigma": 0.5},
        "every": {"distribution": "q_log_normal", "mu": 3.0, "sigma": 0.5, "q": 5.0},
        "optimizer": {"values": ["sgd", "adamw", "lion"]},
        "arch": {"distribution": "categorical", "values": [[64, 64], {"kind": "wide", "width": 512}, None]},
        "flag": {"values": [1, True, 1.0]},
        "seed": {"value": 7},
        "model": {"parameters": {"depth": {"values": [1, 2]}, "act": {"distribution": "constant", "value": "relu"},
                                 "head": {"parameters": {"dim": {"min": 8, "max": 9}}}}},
    },
}


def _config(method="random", **parameters):
    return {"method": method, "parameters": parameters}


def _log_median(values):
    return statistics.median(math.log(v) for v in values)


def _draw(plan: SearchPlan, count: int, seed: int = 11):
    """(Optuna params, W&B params) of `count` trials asked from a real study with the plan's sampler."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=plan.make_sampler(seed), direction=plan.direction)
    distributions, out = plan.distributions(), []
    for _ in range(count):
        trial = study.ask(distributions)
        out.append((trial.params, plan.wandb_params(trial.params)))
        study.tell(trial, 0.0)
    return out


@NEEDS_OPTUNA
class SampledValuesMatchWandb(unittest.TestCase):
    """Every mapping row, drawn through a seeded RandomSampler study."""

    @classmethod
    def setUpClass(cls):
        cls.plan = plan_search(EVERY_MAPPED)
        cls.runs = [params for _, params in _draw(cls.plan, DRAWS)]

    def column(self, name):
        return [run[name] for run in self.runs]

    def assert_type(self, values, kind):
        self.assertEqual({type(v) for v in values}, {kind})

    def test_int_uniform_gives_every_integer_of_the_closed_range(self):
        self.assertEqual(set(self.column("epochs")), {2, 3, 4, 5})
        self.assertEqual(set(self.column("shift")), {-1, 0, 1})
        self.assert_type(self.column("epochs"), int)

    def test_uniform_gives_floats_spread_over_the_range(self):
        dropout, scale = self.column("dropout"), self.column("scale")
        self.assertTrue(all(0.1 <= v <= 0.5 for v in dropout))
        self.assertAlmostEqual(statistics.mean(dropout), 0.3, delta=0.02)
        self.assert_type(scale, float)  # integer bounds with distribution uniform still give floats
        self.assertLess(min(scale), 1.1)
        self.assertGreater(max(scale), 2.9)

    def test_q_uniform_rounds_to_multiples_of_q_with_wandb_types(self):
        width = self.column("width")
        self.assert_type(width, int)  # q written as an integer
        self.assertEqual(set(width), {16, 32, 48, 64, 80, 96})  # round(10/16)*16 .. round(100/16)*16
        self.assertEqual(set(self.column("ratio")), {0.0, 0.25, 0.5, 0.75, 1.0})
        steps = self.column("steps")
        self.assert_type(steps, float)  # W&B's default q is the float 1.0
        self.assertEqual(set(steps), {float(i) for i in range(11)})

    def test_log_uniform_bounds_are_natural_log_exponents(self):
        values = self.column("lr_exp")
        self.assertTrue(all(math.exp(-9.2) * (1 - 1e-12) <= v <= math.exp(-2.3) * (1 + 1e-12) for v in values))
        self.assertAlmostEqual(_log_median(values), (-9.2 - 2.3) / 2, delta=0.5)

    def test_log_uniform_values_median_is_the_geometric_mean(self):
        values = self.column("lr")
        self.assertTrue(all(1e-5 * (1 - 1e-12) <= v <= 1e-1 * (1 + 1e-12) for v in values))
        self.assertAlmostEqual(math.log10(statistics.median(values)), -3.0, delta=0.3)  # uniform: about -1.3

    def test_inv_log_uniform_is_uniform_in_log_of_the_reciprocal(self):
        values = self.column("inv")
        self.assertTrue(all(math.exp(-4.6) * (1 - 1e-12) <= v <= 1 + 1e-12 for v in values))
        reciprocal_logs = [math.log(1 / v) for v in values]
        self.assertAlmostEqual(statistics.mean(reciprocal_logs), 2.3, delta=0.2)
        self.assertAlmostEqual(statistics.pstdev(reciprocal_logs), 4.6 / math.sqrt(12), delta=0.15)

    def test_inv_log_uniform_values_is_log_uniform_between_the_raw_bounds(self):
        values = self.column("inv_values")
        self.assertTrue(all(0.01 * (1 - 1e-12) <= v <= 100 * (1 + 1e-12) for v in values))
        self.assertAlmostEqual(_log_median(values), 0.0, delta=0.5)

    def test_q_log_uniform_quantizes_a_log_uniform_value(self):
        values = self.column("hidden_exp")
        self.assert_type(values, int)
        self.assertTrue(all(v % 8 == 0 and 8 <= v <= 400 for v in values))
        self.assertLess(statistics.median(values), 100)  # e^4 ~ 55; a uniform value would be ~200
        hidden = self.column("hidden")
        self.assert_type(hidden, float)
        self.assertTrue(all(v.is_integer() and 1 <= v <= 1000 for v in hidden))
        self.assertAlmostEqual(math.log10(statistics.median(hidden)), 1.5, delta=0.3)

    def test_normal_has_the_given_mean_and_deviation(self):
        init, noise = self.column("init"), self.column("noise")
        self.assertAlmostEqual(statistics.mean(init), 2.0, delta=0.1)
        self.assertAlmostEqual(statistics.stdev(init), 0.5, delta=0.07)
        self.assertAlmostEqual(statistics.mean(noise), 0.0, delta=0.15)  # defaults mu 0, sigma 1
        self.assertAlmostEqual(statistics.stdev(noise), 1.0, delta=0.12)
        self.assert_type(init, float)

    def test_q_normal_quantizes_a_normal_value(self):
        warmup = self.column("warmup")
        self.assert_type(warmup, int)
        self.assertTrue(all(v % 50 == 0 for v in warmup))
        self.assertAlmostEqual(statistics.mean(warmup), 500, delta=25)

    def test_log_normal_is_normal_in_log(self):
        logs = [math.log(v) for v in self.column("clip")]
        self.assertAlmostEqual(statistics.mean(logs), 1.0, delta=0.1)
        self.assertAlmostEqual(statistics.stdev(logs), 0.5, delta=0.07)
        every = self.column("every")
        self.assert_type(every, float)
        self.assertTrue(all(v % 5.0 == 0 for v in every))
        self.assertAlmostEqual(statistics.median(every), math.exp(3.0), delta=5)

    def test_categorical_values_reach_the_run_unchanged(self):
        counts = {name: self.column("optimizer").count(name) for name in ("sgd", "adamw", "lion")}
        self.assertTrue(all(count > DRAWS / 3 - 60 for count in counts.values()), counts)
        arch = [json.dumps(v, sort_keys=True) for v in self.column("arch")]
        self.assertEqual(set(arch), {"[64, 64]", '{"kind": "wide", "width": 512}', "null"})

    def test_values_equal_across_types_keep_their_type(self):
        # Optuna finds a choice by ==, so 1, True and 1.0 would collapse without index choices.
        self.assertEqual({(type(v), v) for v in self.column("flag")}, {(int, 1), (bool, True), (float, 1.0)})

    def test_constants_and_nesting_are_rebuilt_as_wandb_hands_them(self):
        for run in self.runs:
            self.assertEqual(run["seed"], 7)
            self.assertEqual(set(run["model"]), {"depth", "act", "head"})
            self.assertEqual(run["model"]["act"], "relu")
            self.assertIn(run["model"]["head"]["dim"], (8, 9))
        self.assertEqual(set(self.runs[0]), set(EVERY_MAPPED["parameters"]))

    def test_every_value_is_finite_json(self):
        text = json.dumps(self.runs, allow_nan=False)
        self.assertEqual(json.loads(text), self.runs)

    def test_distributions_are_flat_in_config_order_without_constants(self):
        names = list(self.plan.distributions())
        expected = [n for n, spec in EVERY_MAPPED["parameters"].items() if "value" not in spec and n != "model"]
        self.assertEqual(names, expected + ["model.depth", "model.head.dim"])

    def test_distribution_kinds(self):
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        d = self.plan.distributions()
        self.assertEqual(d["epochs"], IntDistribution(2, 5))
        self.assertEqual(d["scale"], FloatDistribution(1.0, 3.0))
        self.assertEqual(d["width"], FloatDistribution(10.0, 100.0))  # continuous, quantized afterwards
        self.assertEqual(d["lr"], FloatDistribution(1e-5, 1e-1, log=True))
        self.assertEqual(d["lr_exp"], FloatDistribution(math.exp(-9.2), math.exp(-2.3), log=True))
        self.assertEqual(d["inv"], FloatDistribution(math.exp(-4.6), 1.0, log=True))
        self.assertEqual(d["init"], FloatDistribution(1e-6, 1 - 1e-6))  # the CDF quantile
        self.assertEqual(d["optimizer"], CategoricalDistribution(["sgd", "adamw", "lion"]))
        self.assertEqual(d["arch"], CategoricalDistribution([0, 1, 2]))


class WandbParamsTransforms(unittest.TestCase):
    """wandb_params on chosen Optuna values (no Optuna needed)."""

    plan = plan_search(EVERY_MAPPED)

    def params(self, **chosen):
        base = {"epochs": 2, "shift": 0, "dropout": 0.2, "scale": 1.5, "width": 50.0, "ratio": 0.3, "steps": 1.0,
                "lr_exp": 0.001, "lr": 0.001, "inv": 0.5, "inv_values": 1.0, "hidden_exp": 50.0, "hidden": 10.0,
                "init": 0.5, "noise": 0.5, "warmup": 0.5, "clip": 0.5, "every": 0.5, "optimizer": "sgd",
                "arch": 0, "flag": 1, "model.depth": 1, "model.head.dim": 8}
        return self.plan.wandb_params({**base, **chosen})

    def test_quantization_rounds_ties_to_even_like_numpy(self):
        self.assertEqual(self.params(width=24.0)["width"], 32)  # 1.5 -> 2
        self.assertEqual(self.params(width=40.0)["width"], 32)  # 2.5 -> 2
        self.assertEqual(self.params(ratio=0.375)["ratio"], 0.5)  # 1.5 -> 2
        steps = self.params(steps=3.2)["steps"]
        self.assertEqual((type(steps), steps), (float, 3.0))

    def test_quantiles_go_through_the_inverse_cdf(self):
        run = self.params(init=0.5, clip=0.5, noise=1e-6, warmup=0.5, every=0.5)
        self.assertAlmostEqual(run["init"], 2.0)
        self.assertAlmostEqual(run["clip"], math.e)
        self.assertAlmostEqual(run["noise"], -4.753, delta=1e-3)
        self.assertEqual(run["warmup"], 500)
        self.assertEqual(run["every"], 20.0)  # e^3 = 20.09 rounded to a multiple of 5.0

    def test_index_choices_map_back_to_fresh_copies(self):
        first = self.params(arch=1)["arch"]
        first["width"] = 0
        self.assertEqual(self.params(arch=1)["arch"], {"kind": "wide", "width": 512})
        self.assertEqual((self.params(flag=1)["flag"], type(self.params(flag=2)["flag"])), (True, float))

    def test_unknown_or_missing_parameters_are_refused(self):
        with self.assertRaisesRegex(ValueError, "not in the search space: bogus"):
            self.params(bogus=1)
        with self.assertRaisesRegex(ValueError, "no value for searched parameter 'epochs'"):
            self.plan.wandb_params({})

    def test_a_dotted_top_level_name_stays_one_key(self):
        plan = plan_search(_config(**{"opt.lr": {"values": [0.1]}, "opt": {"parameters": {"wd": {"value": 0}}}}))
        self.assertEqual(plan.wandb_params({"opt.lr": 0.1}), {"opt.lr": 0.1, "opt": {"wd": 0}})


class PlanMetadata(unittest.TestCase):
    def test_metric_goal_target_and_direction_are_copied(self):
        plan = plan_search({**_config("bayes", x={"min": 0.0, "max": 1.0}), "run_cap": 12,
                            "metric": {"name": "acc", "goal": "maximize", "target": 1}})
        self.assertEqual((plan.method, plan.metric_name, plan.goal, plan.run_cap), ("bayes", "acc", "maximize", 12))
        self.assertEqual((type(plan.target), plan.target, plan.direction), (float, 1.0, "maximize"))

    def test_without_a_metric_the_direction_is_wandbs_default_minimize(self):
        plan = plan_search(_config(x={"min": 0.0, "max": 1.0}))
        self.assertEqual((plan.metric_name, plan.goal, plan.target, plan.direction), (None, None, None, "minimize"))

    def test_tpe_startup_is_small_next_to_the_run_cap(self):
        def startup(cap):
            config = {**_config("bayes", x={"min": 0.0, "max": 1.0}), "metric": {"name": "m", "goal": "minimize"}}
            return plan_search({**config, **({"run_cap": cap} if cap else {})}).startup_trials
        self.assertEqual([startup(c) for c in (8, 20, 50, 400, None)], [3, 5, 10, 10, 10])
        self.assertTrue(all(startup(c) <= c / 2 for c in range(8, 51)))


GRID = {
    "method": "grid",
    "parameters": {
        "b": {"values": [64, 32]},
        "a": {"values": ["x", "y", "x"]},
        "c": {"value": "constant"},
        "n": {"parameters": {"z": {"values": [True, False]}}},
        "d": {"values": [1, 1.0, 2]},
    },
}


class GridPoints(unittest.TestCase):
    plan = plan_search(GRID)

    def test_the_grid_is_the_product_of_distinct_values_in_wandb_order(self):
        # W&B: parameters sorted by name, the last varying fastest; 1 and 1.0 count once, as does "x" twice.
        points = [self.plan.wandb_params(p) for p in self.plan.grid_points()]
        expected = [{"a": a, "b": b, "c": "constant", "d": d, "n": {"z": z}}
                    for a, b, d, z in itertools.product(["x", "y"], [64, 32], [1.0, 2], [True, False])]
        self.assertEqual(points, expected)
        self.assertEqual(self.plan.grid_size, 16)
        self.assertEqual(type(points[0]["d"]), float)  # W&B's lookup keeps the last of the equal values

    def test_grid_points_are_optuna_values(self):
        self.assertEqual(self.plan.grid_points()[0], {"a": "x", "b": 64, "d": 1, "n.z": True})

    def test_a_grid_of_constants_is_one_run(self):
        plan = plan_search(_config("grid", a={"value": 1}))
        self.assertEqual((plan.grid_points(), plan.grid_size), ([{}], 1))
        self.assertEqual(plan.wandb_params({}), {"a": 1})

    def test_random_and_bayes_sweeps_have_no_grid(self):
        plan = plan_search(_config(x={"values": [1, 2]}))
        self.assertIsNone(plan.grid_size)
        with self.assertRaisesRegex(ValueError, "only for grid sweeps"):
            plan.grid_points()

    def test_grid_refuses_ranges_at_every_level(self):
        with self.assertRaises(SearchSpaceError) as caught:
            plan_search(_config("grid", a={"min": 0.0, "max": 1.0}, c={"values": [1]},
                                n={"parameters": {"b": {"distribution": "normal"}}}))
        self.assertEqual([(i.rule, i.path) for i in caught.exception.issues],
                         [("sweep.grid_needs_discrete", "$.parameters.a"),
                          ("sweep.grid_needs_discrete", "$.parameters.n.parameters.b")])

    @NEEDS_OPTUNA
    def test_enqueued_grid_points_are_asked_back_in_order(self):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(sampler=self.plan.make_sampler(0))
        for point in self.plan.grid_points():
            study.enqueue_trial(point)
        asked = []
        for _ in range(self.plan.grid_size):
            trial = study.ask(self.plan.distributions())
            asked.append(trial.params)
            study.tell(trial, 1.0)
        self.assertEqual(asked, self.plan.grid_points())
        # Types survive the enqueue round trip too (1 and 1.0 are == but not the same run config).
        as_run = [json.dumps(self.plan.wandb_params(p)) for p in asked]
        self.assertEqual(as_run, [json.dumps(self.plan.wandb_params(p)) for p in self.plan.grid_points()])


class UnsupportedSpaces(unittest.TestCase):
    PREFIX = ("payload", "sweep_config")

    def refuse(self, config):
        with self.assertRaises(SearchSpaceError) as caught:
            plan_search(config, "directive", self.PREFIX)
        return caught.exception

    def test_every_unmappable_key_is_listed_with_a_fix(self):
        error = self.refuse(_config(
            ok={"min": 0.0, "max": 1.0},
            b1={"distribution": "beta", "a": 2.0},
            opt={"values": ["sgd", "adam"], "probabilities": [0.3, 0.7]},  # mapped: a weighted choice
            lr={"distribution": "uniform", "min": 0.0, "max": 1.0, "q": 0.1},
            both={"value": 1, "values": [1, 2]},
            block={"value": 3, "parameters": {"qb": {"distribution": "q_beta"}}},
            odd={"values": [1.0, float("nan")]},
        ))
        self.assertEqual([(i.rule, i.path) for i in error.issues], [
            ("local.search_space_unsupported", "$.payload.sweep_config.parameters.b1.distribution"),
            ("local.search_space_unsupported",
             "$.payload.sweep_config.parameters.block.parameters.qb.distribution"),
            ("sweep.key_not_for_distribution", "$.payload.sweep_config.parameters.block.value"),
            ("sweep.key_not_for_distribution", "$.payload.sweep_config.parameters.both.values"),
            ("sweep.key_not_for_distribution", "$.payload.sweep_config.parameters.lr.q"),
            ("local.search_space_unsupported", "$.payload.sweep_config.parameters.odd.values[1]"),
        ])
        for issue in error.issues:
            self.assertEqual(issue.file, "directive")
            self.assertTrue(issue.expected and issue.fix, issue.message)
        self.assertEqual(str(error), error.issues[0].message)
        self.assertIn("skypilot", error.issues[0].fix)

    def test_grid_ranges_longer_than_a_values_list_are_refused_with_a_fix(self):
        cases = {"wide": ({"min": 0, "max": MAX_GRID_RANGE_VALUES}, "narrow the range"),
                 "fine": ({"distribution": "q_uniform", "min": 0.0, "max": 10.0, "q": 0.001}, "enlarge q")}
        for name, (spec, fix) in cases.items():
            with self.subTest(name):
                with self.assertRaises(SearchSpaceError) as caught:
                    plan_search({"method": "grid", "parameters": {name: spec}}, "directive", self.PREFIX)
                issue = caught.exception.issues[0]
                self.assertEqual((issue.rule, issue.path),
                                 ("local.search_space_unsupported", f"$.payload.sweep_config.parameters.{name}"))
                self.assertIn(fix, issue.fix)
                self.assertIn(str(MAX_GRID_RANGE_VALUES), issue.expected)
        self.assertEqual(plan_search({"method": "grid", "parameters": {"n": {"min": 1, "max": MAX_GRID_RANGE_VALUES}}})
                         .grid_size, MAX_GRID_RANGE_VALUES)

    def test_ranges_leaving_floating_point_are_refused(self):
        cases = {
            "big": ({"distribution": "log_uniform", "min": 0.0, "max": 800.0}, "log_uniform_values"),
            "tiny": ({"distribution": "q_log_uniform", "min": -800.0, "max": 1.0}, "q_log_uniform_values"),
            "wide": ({"distribution": "log_normal", "mu": 800.0}, "narrow the range"),
            "fine": ({"distribution": "q_uniform", "min": 0.0, "max": 1e300, "q": 1e-300}, "enlarge q"),
            "huge": ({"min": 0, "max": 2 ** 60}, "narrow the range"),
        }
        for name, (spec, fix) in cases.items():
            with self.subTest(name):
                issue = self.refuse(_config(**{name: spec})).issues[0]
                self.assertEqual((issue.rule, issue.path),
                                 ("local.search_space_unsupported", f"$.payload.sweep_config.parameters.{name}"))
                self.assertIn(fix, issue.fix)

    def test_semantic_sweep_rules_are_reported_once_not_crashed_on(self):
        cases = {"sweep.min_not_below_max": {"min": 2.0, "max": 1.0},
                 "sweep.log_values_min_positive": {"distribution": "log_uniform_values", "min": 0.0, "max": 1.0},
                 "sweep.key_not_for_distribution": {"min": 0.0, "max": 1.5, "mu": 1.0},
                 "sweep.int_uniform_needs_ints": {"distribution": "int_uniform", "min": 0.5, "max": 3.5}}
        for rule, spec in cases.items():
            with self.subTest(rule):
                self.assertEqual([i.rule for i in self.refuse(_config(x=spec)).issues], [rule])

    def test_flattened_names_must_not_collide(self):
        error = self.refuse(_config(**{"a.b": {"values": [1, 2]}, "a": {"parameters": {"b": {"values": [3, 4]}}}}))
        self.assertEqual({i.path for i in error.issues}, {"$.payload.sweep_config.parameters['a.b']",
                                                          "$.payload.sweep_config.parameters.a.parameters.b"})

    def test_malformed_configs_give_issues_not_tracebacks(self):
        cases = {"not a mapping": [], "no parameters": {"method": "random"},
                 "bad method": _config("hyperopt", x={"value": 1}), "parameter not a mapping": _config(x=3),
                 "missing bound": _config(x={"distribution": "uniform", "min": 0.0}),
                 "string bound": _config(x={"min": "0", "max": 1.0}),
                 "zero sigma": _config(x={"distribution": "normal", "sigma": 0}),
                 "values not a list": _config(x={"values": "abc"}), "no search space": _config(x={"mu": 1.0})}
        for name, config in cases.items():
            with self.subTest(name):
                self.assertTrue(self.refuse(config).issues)

    def test_every_sweep_config_fixture_plans_or_is_refused_cleanly(self):
        for path in sorted((FIXTURES / "sweep-config").glob("*/*.json")):
            try:
                document = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue
            with self.subTest(path.name):
                try:
                    plan = plan_search(document, path.name)
                except SearchSpaceError as exc:
                    self.assertTrue(all(i.fix for i in exc.issues))
                else:
                    self.assertIsInstance(plan, SearchPlan)


@NEEDS_OPTUNA
class Samplers(unittest.TestCase):
    def test_bayes_runs_a_real_tpe_study(self):
        from optuna.samplers import TPESampler

        config = {**_config("bayes", lr={"distribution": "log_uniform_values", "min": 1e-4, "max": 1.0},
                            layers={"min": 1, "max": 4}, act={"values": ["relu", "gelu"]}, seed={"value": 1}),
                  "metric": {"name": "loss", "goal": "minimize"}, "run_cap": 12}
        plan = plan_search(config)
        self.assertIsInstance(plan.make_sampler(3), TPESampler)
        runs = _draw(plan, 12, seed=3)
        again = _draw(plan, 12, seed=3)
        self.assertEqual(runs, again)  # same seed, same trials: a restarted runner resumes the same sequence
        for _, run in runs:
            self.assertTrue(1e-4 <= run["lr"] <= 1.0 and run["layers"] in range(1, 5) and run["seed"] == 1)

    def test_random_and_grid_use_the_random_sampler(self):
        from optuna.samplers import RandomSampler

        for method in ("random", "grid"):
            self.assertIsInstance(plan_search(_config(method, x={"values": [1]})).make_sampler(0), RandomSampler)


class WithoutOptuna(unittest.TestCase):
    def test_module_plans_and_documents_without_optuna(self):
        code = (
            "import json, sys\n"
            "sys.modules['optuna'] = None\n"
            f"sys.path.insert(0, {str(SCRIPTS)!r})\n"
            "from metaopt_lib.executor.local import search_space as s\n"
            "plan = s.plan_search({'method': 'grid', 'parameters': {'x': {'values': [1, 2]}}})\n"
            "try:\n"
            "    plan.make_sampler(0)\n"
            "    needs = 'no'\n"
            "except ImportError:\n"
            "    needs = 'yes'\n"
            "print(json.dumps({'table': s.mapping_table_markdown(), 'grid': plan.grid_points(),\n"
            "                  'params': plan.wandb_params({'x': 2}), 'sampler_needs_optuna': needs}))\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        out = json.loads(done.stdout)
        self.assertEqual((out["grid"], out["params"], out["sampler_needs_optuna"]),
                         ([{"x": 1}, {"x": 2}], {"x": 2}, "yes"))
        self.assertEqual(out["table"], mapping_table_markdown())


class MappingTable(unittest.TestCase):
    def test_one_row_per_wandb_distribution(self):
        schema = json.loads((SCRIPTS.parent / "references/schemas/sweep-config.schema.json").read_text())
        specs = " ".join(spec for spec, _, _ in MAPPING_ROWS)
        for name in schema["$defs"]["distribution"]["enum"]:
            with self.subTest(name):
                self.assertIn(f"`{name}`", specs)
        rejected = {spec.split("`")[1] for spec, dist, _ in MAPPING_ROWS if dist == "rejected"}
        self.assertEqual(rejected, {"beta", "q_beta"})

    def test_markdown_table_has_three_cells_per_row(self):
        lines = mapping_table_markdown().splitlines()
        self.assertEqual(len(lines), len(MAPPING_ROWS) + 2)
        for line in lines:
            self.assertEqual(line.count("|"), 4, line)
            self.assertNotIn("||", line.replace("|---|---|---|", ""))


if __name__ == "__main__":
    unittest.main()
