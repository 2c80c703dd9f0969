"""The report's charts: the data they plot (checked against hand-computed values of a small
campaign), the PNGs (valid, with as many data points as the data has, byte-identical across runs),
and every way a chart is not drawn (no metric, too few trials, a drawing error, no matplotlib)
coming back as a reason while the other charts are still drawn."""
from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support
from metaopt_lib.report import chart_data, charts

HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAVE_OPTUNA = importlib.util.find_spec("optuna") is not None
NEEDS_MATPLOTLIB = unittest.skipUnless(HAVE_MATPLOTLIB, "matplotlib is not installed (pip install -r requirements.txt)")
NEEDS_OPTUNA = unittest.skipUnless(HAVE_OPTUNA, "optuna is not installed (pip install -r requirements.txt)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MINIMIZE = {"metric": "val_loss", "direction": "minimize"}
MAXIMIZE = {"metric": "val_loss", "direction": "maximize"}
SPACE = {"method": "bayes", "parameters": {
    "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
    "opt": {"values": ["adam", "sgd", "rmsprop"]},
    "batch": {"value": 32}}}


def trial(iteration, number, state, value, **params):
    return {"iteration": iteration, "sweep_identity": f"sweep-{iteration}", "run_id": f"run-{number}",
            "state": state, "params": params, "metric_value": value,
            "started_at": "2025-01-01T00:00:00Z", "duration_seconds": 10.0}


# Trial numbers 1..9. Without a metric: 3 (failed), 6 (no_metric). Not finished: 4 (pruned), 9 (running).
TRIALS = [
    trial(1, 1, "finished", 5.0, lr=0.01, opt="adam", batch=32),
    trial(1, 2, "finished", 4.0, lr=0.001, opt="sgd", batch=32),
    trial(1, 3, "failed", None, lr=0.05, opt="adam", batch=32),
    trial(1, 4, "pruned", 3.0, lr=0.002, opt="rmsprop", batch=32),
    trial(2, 5, "finished", 6.0, lr=0.0005, batch=32),  # no "opt": not on that slice
    trial(2, 6, "no_metric", None, lr=0.02, opt="adam", batch=32),
    trial(2, 7, "finished", 2.0, lr=0.003, opt="sgd", batch=32),
    trial(3, 8, "finished", 7.0, lr=0.03, opt="rmsprop", batch=32),
    trial(3, 9, "running", 1.0, lr=0.004, opt="adam", batch=32),
]
ITERATIONS = [
    {"iteration": 1, "space": SPACE, "best_value": 4.0, "baseline_after": 4.0},
    {"iteration": 2, "space": SPACE, "best_value": 2.0, "baseline_after": 2.0},
    {"iteration": 3, "space": SPACE, "best_value": 7.0, "baseline_after": 2.0},
]
PLOTTED = [(1, 5.0), (2, 4.0), (4, 3.0), (5, 6.0), (7, 2.0), (8, 7.0), (9, 1.0)]


def importance_campaign():
    """Twelve finished trials over two parameters, enough for importance, all in iteration 1."""
    space = {"method": "random", "parameters": {"lr": {"distribution": "uniform", "min": 0.0, "max": 1.0},
                                                "depth": {"distribution": "int_uniform", "min": 1, "max": 12}}}
    trials = [trial(1, n, "finished", (n % 4) * 0.3 + n * 0.01, lr=((n * 7) % 12) / 12, depth=n) for n in range(1, 13)]
    return trials, [{"iteration": 1, "space": space, "best_value": None, "baseline_after": 0.31}]


def png_size(data: bytes) -> tuple:
    """(width, height) from the IHDR chunk, which must come first."""
    assert data[:8] == PNG_SIGNATURE, data[:8]
    assert data[12:16] == b"IHDR", data[12:16]
    return struct.unpack(">II", data[16:24])


class ChartData(unittest.TestCase):
    def test_every_trial_with_a_metric_is_a_point_numbered_in_campaign_order(self):
        points = chart_data.points(TRIALS)
        self.assertEqual([(p.x, p.value) for p in points], PLOTTED)
        self.assertEqual([p.x for p in points if not p.finished], [4, 9])

    def test_a_non_finite_or_boolean_metric_is_no_metric(self):
        odd = [trial(1, 1, "finished", float("nan")), trial(1, 2, "finished", True), trial(1, 3, "finished", 1)]
        self.assertEqual([(p.x, p.value) for p in chart_data.points(odd)], [(3, 1.0)])

    def test_best_so_far_counts_finished_trials_in_the_campaigns_direction(self):
        self.assertEqual(chart_data.best_so_far(TRIALS, "minimize"), [(1, 5.0), (2, 4.0), (5, 4.0), (7, 2.0), (8, 2.0)])
        self.assertEqual(chart_data.best_so_far(TRIALS, "maximize"), [(1, 5.0), (2, 5.0), (5, 6.0), (7, 6.0), (8, 7.0)])
        for direction, ordered in (("minimize", lambda a, b: b <= a), ("maximize", lambda a, b: b >= a)):
            values = [v for _, v in chart_data.best_so_far(TRIALS, direction)]
            with self.subTest(direction=direction):
                self.assertTrue(all(ordered(a, b) for a, b in zip(values, values[1:])), values)

    def test_the_best_trial_is_finished(self):
        self.assertEqual(chart_data.best_trial(TRIALS, "minimize")[0], 7)  # not the running trial 9 at 1.0
        self.assertEqual(chart_data.best_trial(TRIALS, "maximize")[0], 8)
        tie = [trial(1, 1, "finished", 2.0), trial(2, 2, "finished", 2.0)]
        self.assertEqual(chart_data.best_trial(tie, "minimize")[0], 1)
        self.assertIsNone(chart_data.best_trial([trial(1, 1, "pruned", 1.0)], "minimize"))

    def test_boundaries_start_each_iteration(self):
        self.assertEqual(chart_data.boundaries(TRIALS), [(0.5, 1), (4.5, 2), (7.5, 3)])

    def test_the_baseline_steps_only_at_iteration_ends(self):
        steps = chart_data.baseline_steps(TRIALS, ITERATIONS)
        self.assertEqual(steps, [(4.5, 4.0), (7.5, 2.0), (9.5, 2.0)])
        ends = set(chart_data.iteration_ends(TRIALS, ITERATIONS).values())
        self.assertEqual(ends, {4.5, 7.5, 9.5})
        self.assertTrue(all(x in ends for x, _ in steps))
        unset = [dict(ITERATIONS[0], baseline_after=None)] + ITERATIONS[1:]
        self.assertEqual(chart_data.baseline_steps(TRIALS, unset), [(7.5, 2.0), (9.5, 2.0)])

    def test_an_iteration_without_trials_ends_where_the_earlier_ones_did(self):
        iterations = ITERATIONS + [{"iteration": 4, "space": None, "best_value": None, "baseline_after": 1.5}]
        self.assertEqual(chart_data.iteration_ends(TRIALS, iterations)[4], 9.5)

    def test_slices_of_an_iteration(self):
        lr, opt = chart_data.slices(TRIALS, 2, SPACE, "minimize")  # batch is a constant
        self.assertEqual((lr.name, lr.kind, lr.log), ("lr", "num", True))
        self.assertEqual([(p.x, p.value) for p in lr.points], [(0.0005, 6.0), (0.003, 2.0)])
        self.assertEqual(lr.best, (0.003, 2.0))
        self.assertEqual((opt.name, opt.kind, opt.categories), ("opt", "cat", ("adam", "sgd", "rmsprop")))
        self.assertEqual([(p.x, p.value) for p in opt.points], [(1, 2.0)])  # trial 5 has no opt
        self.assertEqual(opt.best, (1, 2.0))

    def test_slices_without_a_space_use_the_parameters_that_vary(self):
        pieces = chart_data.slices(TRIALS, 1, None, "minimize")
        self.assertEqual([(s.name, s.kind, s.log) for s in pieces], [("lr", "num", False), ("opt", "cat", False)])
        self.assertEqual(pieces[1].categories, ("adam", "sgd", "rmsprop"))
        self.assertEqual(len(pieces[1].points), 3)  # trial 3 has no metric

    def test_importance_dimensions_cover_every_iteration(self):
        wide = {"method": "random", "parameters": {
            "lr": {"distribution": "uniform", "min": 1e-5, "max": 0.5},
            "opt": {"values": ["sgd", "adamw"]}, "depth": {"values": [1, 2]}}}
        dims = chart_data.importance_dims(ITERATIONS[:1] + [
            {"iteration": 2, "space": wide, "best_value": None, "baseline_after": None}])
        self.assertEqual(sorted(dims), ["depth", "lr", "opt"])
        self.assertEqual((dims["lr"].lo, dims["lr"].hi, dims["lr"].log), (1e-5, 0.5, False))
        self.assertEqual(dims["opt"].values, ("adam", "sgd", "rmsprop", "adamw"))
        mixed = {"method": "random", "parameters": {"depth": {"distribution": "int_uniform", "min": 1, "max": 3}}}
        dims = chart_data.importance_dims([{"iteration": 1, "space": wide}, {"iteration": 2, "space": mixed}])
        self.assertNotIn("depth", dims)


@NEEDS_MATPLOTLIB
class Drawing(unittest.TestCase):
    def setUp(self):
        holder = tempfile.TemporaryDirectory()
        self.addCleanup(holder.cleanup)
        self.tmp = Path(holder.name)

    def assert_png(self, path: Path):
        from matplotlib.image import imread
        width, height = png_size(path.read_bytes())
        self.assertGreater(width, 0)
        self.assertGreater(height, 0)
        self.assertEqual(imread(path).shape[:2], (height, width))

    def test_small_campaign_history_and_best_iteration_drawn_importance_explained(self):
        history, importance, best = charts.draw_charts(self.tmp, TRIALS, ITERATIONS, MINIMIZE)
        self.assertEqual(history, charts.Chart("history", "history.png", len(PLOTTED), None))
        self.assertEqual(best, charts.Chart("best-iteration", "best-iteration.png", 3, None))  # iteration 2: lr 2, opt 1
        self.assertEqual((importance.file, importance.points), (None, 0))
        self.assertIn("too few trials", importance.error)
        for chart in (history, best):
            self.assert_png(self.tmp / chart.file)
        self.assertEqual(sorted(p.name for p in self.tmp.iterdir()), ["best-iteration.png", "history.png"])

    def test_points_are_the_drawn_artists(self):
        mpl = charts.load_matplotlib()
        figure = charts.history_figure(mpl, TRIALS, ITERATIONS, MINIMIZE)
        (ax,) = figure.axes
        drawn = sorted(tuple(map(float, xy)) for c in ax.collections if c.get_gid() == charts.DATA_GID
                       for xy in c.get_offsets())
        self.assertEqual(drawn, sorted(PLOTTED))
        self.assertEqual(charts.count_points(figure), len(PLOTTED))
        self.assertIn("val_loss", ax.get_ylabel())
        self.assertIn("lower is better", ax.get_ylabel())
        ylabel = charts.history_figure(mpl, TRIALS, ITERATIONS, MAXIMIZE).axes[0].get_ylabel()
        self.assertIn("higher is better", ylabel)

        figure = charts.best_iteration_figure(mpl, TRIALS, ITERATIONS, MINIMIZE)
        lr, opt = figure.axes
        self.assertEqual((lr.get_xscale(), opt.get_xscale()), ("log", "linear"))
        self.assertEqual([t.get_text() for t in opt.get_xticklabels()], ["adam", "sgd", "rmsprop"])
        per_axis = [sum(len(c.get_offsets()) for c in ax.collections if c.get_gid() == charts.DATA_GID)
                    for ax in (lr, opt)]
        self.assertEqual(per_axis, [2, 1])
        stars = [c for c in lr.collections if c.get_gid() != charts.DATA_GID]
        self.assertEqual([tuple(map(float, c.get_offsets()[0])) for c in stars], [(0.003, 2.0)])

    @NEEDS_OPTUNA
    def test_importance_has_a_bar_per_parameter_and_runs_are_byte_identical(self):
        trials, iterations = importance_campaign()
        first = charts.draw_charts(self.tmp, trials, iterations, MINIMIZE)
        self.assertEqual([c.error for c in first], [None, None, None])
        self.assertEqual([c.points for c in first], [12, 2, 24])
        for chart in first:
            self.assert_png(self.tmp / chart.file)
        before = {c.file: (self.tmp / c.file).read_bytes() for c in first}
        self.assertNotIn(b"tEXt", before["history.png"])  # no software name, no timestamp
        again = charts.draw_charts(self.tmp, trials, iterations, MINIMIZE)
        self.assertEqual(again, first)
        self.assertEqual({c.file: (self.tmp / c.file).read_bytes() for c in again}, before)

    def test_no_metric_at_all_draws_nothing_and_removes_old_drawings(self):
        charts.draw_charts(self.tmp, TRIALS, ITERATIONS, MINIMIZE)
        blank = [dict(t, metric_value=None) for t in TRIALS]
        found = charts.draw_charts(self.tmp, blank, ITERATIONS, MINIMIZE)
        self.assertEqual([(c.name, c.file, c.points) for c in found],
                         [("history", None, 0), ("importance", None, 0), ("best-iteration", None, 0)])
        self.assertIn("no trial has a metric", found[0].error)
        self.assertIn("no finished trial", found[2].error)
        self.assertEqual(list(self.tmp.iterdir()), [])

    def test_a_drawing_error_costs_only_its_chart(self):
        with mock.patch.object(charts, "history_figure", side_effect=ValueError("bad axis")):
            history, _, best = charts.draw_charts(self.tmp, TRIALS, ITERATIONS, MINIMIZE)
        self.assertEqual((history.file, history.error), (None, "drawing failed: ValueError: bad axis"))
        self.assertEqual(best.file, "best-iteration.png")

    def test_without_matplotlib_three_reasons_and_no_files(self):
        with mock.patch.dict(sys.modules, {"matplotlib": None}):
            found = charts.draw_charts(self.tmp, TRIALS, ITERATIONS, MINIMIZE)
        self.assertEqual(found, [charts.Chart(name, None, 0, charts.MISSING_MATPLOTLIB)
                                 for name in ("history", "importance", "best-iteration")])
        self.assertEqual(charts.MISSING_MATPLOTLIB, "matplotlib is not installed: pip install matplotlib")
        self.assertEqual(list(self.tmp.iterdir()), [])


class LazyImport(unittest.TestCase):
    def test_importing_the_charts_does_not_import_matplotlib(self):
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import metaopt_lib.report.charts; "
                "print('matplotlib' in sys.modules)")
        done = subprocess.run([sys.executable, "-c", code, str(support.SCRIPTS)], capture_output=True, text=True,
                              timeout=120)
        self.assertEqual((done.returncode, done.stdout.strip()), (0, "False"), done.stderr)


if __name__ == "__main__":
    unittest.main()
