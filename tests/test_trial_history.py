"""Trial tables and the history worker tasks carry: the cloud backend's rows from W&B's runs, and the
bounded history drawn from the tables (recent sweeps whole, older iterations by their best run)."""
from __future__ import annotations

import datetime
import unittest

import support  # noqa: F401
from metaopt_lib.contract import schemas, validation
from metaopt_lib.executor.cloud.adapter import RunInfo
from metaopt_lib.executor.cloud.runs import trial_rows
from metaopt_lib.contract.history import ListHistory
from metaopt_lib.handoffs.common import Inputs
from metaopt_lib.handoffs.history import BEST_ROWS, MAX_ROWS, RECENT_SWEEPS, trial_history
from metaopt_lib.contract.trial_ranking import ranked, ranked_indices
from metaopt_lib.handoffs.trial_summary import summarize_trials

T0 = datetime.datetime(2026, 11, 22, 8, 0, tzinfo=datetime.timezone.utc)


def run(run_id, state, metric, minutes=0, config=None):
    return RunInfo(run_id=run_id, name=None, state=state, url=None, config=config or {"lr": 0.1, "_wandb": {}},
                   summary_metric=metric, heartbeat_at=T0 + datetime.timedelta(minutes=minutes + 5),
                   last_logged_at=None, created_at=T0 + datetime.timedelta(minutes=minutes))


class CloudRows(unittest.TestCase):
    def test_w_and_b_runs_become_rows_in_the_order_they_started(self):
        rows = trial_rows([run("b", "crashed", None, 2), run("a", "finished", 0.5, 0), run("c", "running", 0.7, 3),
                           run("d", "finished", 0.9, 4), run("e", "preempted", None, 5)], killed_ids={"d"})
        self.assertEqual([(r["run_id"], r["state"]) for r in rows],
                         [("a", "finished"), ("b", "failed"), ("c", "running"), ("d", "killed"), ("e", "interrupted")])
        self.assertEqual(rows[0]["params"], {"lr": 0.1}, "W&B's own config keys are left out")
        self.assertEqual((rows[0]["duration_seconds"], rows[2]["duration_seconds"]), (300.0, None))
        table = {"schema_version": 1, "sweep_identity": "c-iter-1", "backend": "skypilot", "space": None,
                 "updated_at": "2026-11-22T09:00:00Z", "trials": rows}
        self.assertEqual(validation.validate_document("trial-table", table, "table"), [])


def row(number, value, state="finished"):
    return {"run_id": f"t{number}", "state": state, "params": {"lr": number}, "metric_value": value,
            "started_at": None, "duration_seconds": None}


def state_with(iterations, current=None):
    """(state, its history): `iterations` completed iterations, each with its best run."""
    completed = [{"iteration": i, "sweep_identity": f"c-iter-{i}",
                  "best_run": {"run_id": f"best-{i}", "metric_value": float(i), "config": {"lr": i}}}
                 for i in range(1, iterations + 1)]
    return {"current_sweep": current}, ListHistory(iterations=completed)


def inputs(tables, history):
    return Inputs(now="2026-11-22T09:00:00Z", trial_table=lambda identity: tables.get(identity), history=history)


def history_of(state_and_history, tables, direction, **options):
    state, history = state_and_history
    return trial_history(state, inputs(tables, history), direction, **options)


def table(identity, rows, space=None):
    return {"sweep_identity": identity, "space": space, "trials": rows}


class History(unittest.TestCase):
    def test_recent_sweeps_whole_older_iterations_by_their_best_run(self):
        iterations = RECENT_SWEEPS + 2
        tables = {f"c-iter-{i}": table(f"c-iter-{i}", [row(i * 10, 0.1 * i)]) for i in range(1, iterations + 1)}
        history = history_of(state_with(iterations), tables, "maximize")
        self.assertEqual([r["run_id"] for r in history["trials"]],
                         ["best-1", "best-2"] + [f"t{i * 10}" for i in range(3, iterations + 1)])
        self.assertEqual([r["iteration"] for r in history["trials"]], list(range(1, iterations + 1)))

    def test_a_recent_sweep_without_a_table_gives_its_best_run(self):
        history = history_of(state_with(2), {"c-iter-2": table("c-iter-2", [row(7, 0.3)])}, "minimize")
        self.assertEqual([r["run_id"] for r in history["trials"]], ["best-1", "t7"])

    def test_the_latest_space_is_the_most_recent_tables(self):
        space = {"method": "bayes", "parameters": {"lr": {"min": 0.0, "max": 1.0}}}
        tables = {"c-iter-1": table("c-iter-1", [], {"method": "random", "parameters": {"lr": {"value": 1}}}),
                  "c-iter-2": table("c-iter-2", [], space)}
        history = history_of(state_with(2), tables, "minimize")
        self.assertEqual(history["latest_space"], {"iteration": 2, **space})

    def test_a_long_history_keeps_the_best_and_the_latest_in_order(self):
        rows = [row(i, float(i)) for i in range(MAX_ROWS * 2)]
        rows[5]["metric_value"] = 10_000.0  # an early trial among the best
        history = history_of(state_with(1), {"c-iter-1": table("c-iter-1", rows)}, "maximize")
        kept = [r["run_id"] for r in history["trials"]]
        self.assertEqual((len(kept), history["trials_seen"]), (MAX_ROWS, MAX_ROWS * 2))
        self.assertIn("t5", kept)
        self.assertEqual(kept, sorted(kept, key=lambda name: int(name[1:])), "rows keep their order")
        best = sorted((r for r in rows), key=lambda r: -r["metric_value"])[:BEST_ROWS]
        self.assertTrue({r["run_id"] for r in best} <= set(kept))
        self.assertEqual(kept[-1], f"t{MAX_ROWS * 2 - 1}", "the latest trial is kept")

    def test_the_analysis_sees_only_the_current_sweep(self):
        current = {"iteration": 3, "sweep_identity": "c-iter-3", "best_run": None}
        tables = {"c-iter-2": table("c-iter-2", [row(1, 0.1)]), "c-iter-3": table("c-iter-3", [row(2, 0.2)])}
        history = history_of(state_with(2, current), tables, "maximize", only_current=True)
        self.assertEqual([(r["run_id"], r["iteration"]) for r in history["trials"]], [("t2", 3)])


if __name__ == "__main__":
    unittest.main()


class TrialSummaryOfAnAnalysisTask(unittest.TestCase):
    def rows(self):
        rows = [{"run_id": f"t{i}", "state": "finished", "metric_value": float(i),
                 "params": {"lr": 0.001 * (i + 1), "opt": "adam" if i % 2 else "sgd"}} for i in range(12)]
        rows.append({"run_id": "crash", "state": "failed", "metric_value": None, "params": {"lr": 9.0, "opt": "sgd"}})
        return rows

    def test_best_worst_states_and_parameter_ranges_follow_the_direction(self):
        summary = summarize_trials(self.rows(), "minimize")
        self.assertEqual((summary["finished"], summary["states"]), (12, {"failed": 1, "finished": 12}))
        self.assertEqual([b["run_id"] for b in summary["best"]], ["t0", "t1", "t2", "t3", "t4"])
        self.assertEqual([w["run_id"] for w in summary["worst"]], ["t11", "t10", "t9", "t8", "t7"])
        lr = summary["parameters"]["lr"]
        self.assertEqual(lr["kind"], "numeric")
        self.assertAlmostEqual(lr["searched"][1], 0.012)  # the failed trial's 9.0 is not a finished trial's value
        self.assertEqual([round(v, 6) for v in lr["best_quarter"]], [0.001, 0.003])  # t0, t1, t2
        self.assertEqual(summary["parameters"]["opt"], {"kind": "categorical", "values": [
            {"value": "adam", "trials": 6, "in_best_quarter": 1}, {"value": "sgd", "trials": 6, "in_best_quarter": 2}]})
        maximize = summarize_trials(self.rows(), "maximize")
        self.assertEqual(maximize["best"][0]["run_id"], "t11")

    def test_the_summary_is_valid_in_an_analysis_task(self):
        schema = schemas.load_schema("worker-task")
        self.assertIn("trial_summary", schema["$defs"]["analysis"]["properties"])
        validator = schemas.validator("worker-task")
        sub = validator.evolve(schema={"$ref": "#/$defs/trialSummary", "$defs": schema["$defs"]})
        self.assertEqual(list(sub.iter_errors(summarize_trials(self.rows(), "minimize"))), [])
        self.assertNotEqual(list(sub.iter_errors({"finished": -1})), [], "the check is not vacuous")
        self.assertEqual(summarize_trials([], "minimize"), {"finished": 0, "states": {}, "best": [], "worst": [],
                                                            "parameters": {}})


class OneRankingOfTrials(unittest.TestCase):
    def test_finished_trials_with_a_metric_best_first_ties_to_the_earlier(self):
        rows = [{"run_id": "a", "state": "finished", "metric_value": 2.0},
                {"run_id": "pruned", "state": "pruned", "metric_value": 0.1},
                {"run_id": "b", "state": "finished", "metric_value": 1.0},
                {"run_id": "none", "state": "finished", "metric_value": None},
                {"run_id": "c", "state": "finished", "metric_value": 1.0}]
        self.assertEqual([r["run_id"] for r in ranked(rows, "minimize")], ["b", "c", "a"])
        self.assertEqual([r["run_id"] for r in ranked(rows, "maximize")], ["a", "b", "c"])
        self.assertEqual(ranked_indices(rows, "minimize"), [2, 4, 0])
