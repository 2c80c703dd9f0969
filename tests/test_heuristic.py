"""The built-in heuristic workers: every result is valid against its contract, the same task gives the
same result (in this process and in another), and each documented move and rule does what it says on
histories built for it."""
from __future__ import annotations

import json
import math
import subprocess
import sys
import unittest

import support
from metaopt_lib import heuristic
from metaopt_lib.contract import validation
from metaopt_lib.contract.sweep_space import space_hash
from metaopt_lib.heuristic.evidence import Evidence
from metaopt_lib.heuristic.moves import narrowed, widened
from metaopt_lib.heuristic.space import read_dim, read_dims

OBJECTIVE = {"metric": "acc", "direction": "maximize", "improvement_threshold": 0.0}
SPACE = {"lr": {"distribution": "log_uniform_values", "min": 1.0e-4, "max": 1.0e-1},
         "hidden": {"distribution": "int_uniform", "min": 8, "max": 256},
         "dropout": {"distribution": "uniform", "min": 0.0, "max": 0.5},
         "act": {"values": ["relu", "tanh", "gelu"]}}


def score(params) -> float:
    """A landscape with its optimum at lr 0.1 (the space's upper bound), where hidden barely matters
    and act and dropout not at all."""
    return 0.9 - 0.1 * abs(math.log10(params["lr"]) + 1) + 1e-5 * params["hidden"]


def grid_history(count=24, space=SPACE, iteration=1, value=score) -> dict:
    rows = []
    for i in range(count):
        params = {"lr": 10 ** (-4 + 3 * ((i * 7) % count) / (count - 1)), "hidden": 8 + (i * 37) % 249,
                  "dropout": round(0.5 * ((i * 5) % count) / count, 4), "act": ["relu", "tanh", "gelu"][i % 3]}
        rows.append({"iteration": iteration, "run_id": f"t{i}", "state": "finished", "params": params,
                     "metric_value": value(params)})
    return {"trials": rows, "trials_seen": count,
            "latest_space": {"iteration": iteration, "method": "random", "parameters": space}}


def task(worker, context, task_id=None) -> dict:
    lane = worker.split("-")[1]
    document = {"schema_version": 1, "task_id": task_id or f"{lane}-2-1", "worker": worker, "iteration": 2,
                "attempt": 1, "result_path": f".ml-metaopt/results/iter-2/{task_id or lane + '-2-1'}.json",
                "result_schema": f"references/schemas/{lane}-result.schema.json", "objective": OBJECTIVE,
                "project": {"repo": ".", "program": "train.py"}, "no_code_patch": True, "context": context}
    assert validation.validate_document("worker-task", document, "task") == [], "a test task is valid"
    return document


def ideation_task(history=None, assignment=None, pool=(), requested=3, search_space=SPACE):
    context = {"proposals_requested": requested, "baseline": None, "learnings": [], "learnings_summary": None,
               "pool": list(pool), "run_cap": 20, "search_space": search_space,
               "history": history or {"trials": [], "trials_seen": 0, "latest_space": None}}
    if assignment:
        context["assignment"] = {"name": assignment, "text": f"{assignment}."}
    return task("metaopt-ideation-worker", context)


def answer(document) -> dict:
    result = heuristic.answer(document)
    kind = document["worker"].split("-")[1] + "-result"
    issues = validation.validate_document(kind, result, "result", validation.Context(
        objective=document["objective"], task_id=document["task_id"]))
    assert issues == [], issues
    return result


class Ideation(unittest.TestCase):
    def test_before_any_trial_it_starts_with_random_search_over_the_search_space(self):
        result = answer(ideation_task())
        first = result["proposals"][0]["sweep_config"]
        self.assertEqual((first["method"], first["parameters"]), ("random", SPACE))
        self.assertEqual(first["metric"], {"name": "acc", "goal": "maximize"})
        hashes = [space_hash(p["sweep_config"]) for p in result["proposals"]]
        self.assertEqual(len(set(hashes)), len(hashes), "all different")
        self.assertEqual([p["sweep_config"]["method"] for p in result["proposals"]], ["random", "bayes"],
                         "no range here is wide and linear, so there is no log-scale variant")

    def test_a_wide_positive_linear_range_is_offered_in_log_scale(self):
        space = {"lr": {"min": 0.0001, "max": 0.1}, "act": {"values": ["relu", "tanh"]}}
        result = answer(ideation_task(assignment="explore", search_space=space))
        self.assertEqual(result["proposals"][0]["sweep_config"]["parameters"]["lr"],
                         {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1})

    def test_exploit_narrows_around_the_best_trials(self):
        history = grid_history()
        result = answer(ideation_task(history, "exploit"))
        lr = read_dim("lr", result["proposals"][0]["sweep_config"]["parameters"]["lr"])
        top = Evidence(history, "maximize").top()
        self.assertTrue(all(lr.contains(row["params"]["lr"]) for row in top), "the best trials stay inside")
        self.assertLess(lr.span, read_dim("lr", SPACE["lr"]).span, "narrower than before")
        self.assertEqual(result["proposals"][0]["sweep_config"]["method"], "bayes")

    def test_explore_widens_the_bound_the_best_trial_sits_at(self):
        result = answer(ideation_task(grid_history(), "explore"))
        lr = result["proposals"][0]["sweep_config"]["parameters"]["lr"]
        self.assertEqual(lr["distribution"], "log_uniform_values")
        self.assertEqual((lr["min"], lr["max"]), (1.0e-4, 1.0), "the upper bound moved a decade, the lower stayed")

    def test_restructure_fixes_the_dimensions_that_do_not_matter_at_the_best_values(self):
        history = grid_history()
        result = answer(ideation_task(history, "restructure"))
        parameters = result["proposals"][0]["sweep_config"]["parameters"]
        best = Evidence(history, "maximize").best["params"]
        importance = Evidence(history, "maximize").importance(read_dims(SPACE))
        fixed = {name for name, spec in parameters.items() if "value" in spec}
        self.assertTrue(fixed, importance)
        self.assertNotIn("lr", fixed, "the dimension that matters stays swept")
        for name in fixed:
            self.assertLess(importance[name], 0.05)
            self.assertEqual(parameters[name]["value"], best[name])

    def test_the_assignment_decides_which_move_comes_first(self):
        firsts = {name: answer(ideation_task(grid_history(), name))["proposals"][0]["rationale"].split(":")[0]
                  for name in ("exploit", "explore", "restructure")}
        self.assertEqual(firsts, {"exploit": "Exploit", "explore": "Explore", "restructure": "Restructure"})

    def test_spaces_already_in_the_pool_are_skipped(self):
        history = grid_history()
        first = answer(ideation_task(history, requested=1))["proposals"][0]
        pool = [{"proposal_id": "ideation-1-1-p1", "rationale": first["rationale"],
                 "sweep_config": first["sweep_config"]}]
        again = answer(ideation_task(history, pool=pool, requested=1))["proposals"][0]
        self.assertNotEqual(space_hash(again["sweep_config"]), space_hash(first["sweep_config"]))

    def test_no_space_at_all_is_a_failed_result_saying_what_to_add(self):
        result = answer(ideation_task(search_space=None))
        self.assertEqual(result["status"], "failed")
        self.assertIn("search_space", result["failure_reason"])

    def test_the_same_task_gives_the_same_result_here_and_in_another_process(self):
        document = ideation_task(grid_history(), "restructure")
        here = heuristic.answer(document)
        self.assertEqual(heuristic.answer(document), here)
        code = ("import json, sys; sys.path.insert(0, sys.argv[1]); from metaopt_lib import heuristic; "
                "print(json.dumps(heuristic.answer(json.load(sys.stdin))))")
        other = subprocess.run([sys.executable, "-c", code, str(support.SCRIPTS)], input=json.dumps(document),
                               capture_output=True, text=True, check=True)
        self.assertEqual(json.loads(other.stdout), here)


class Moves(unittest.TestCase):
    def test_a_non_negative_range_stays_non_negative_and_a_fraction_below_one(self):
        dropout = read_dim("dropout", {"min": 0.0, "max": 0.5})
        self.assertEqual(widened(dropout, "lo"), dropout, "a bound at 0 does not move below it")
        self.assertEqual(widened(dropout, "hi").hi, 0.75)
        hidden = read_dim("hidden", {"min": 8, "max": 64})
        self.assertEqual(widened(hidden, "lo").lo, 4)
        self.assertEqual(widened(read_dim("n", {"min": 1, "max": 4}), "lo").lo, 1)

    def test_narrowing_keeps_two_categorical_choices(self):
        history = grid_history(value=lambda p: 1.0 if p["act"] == "relu" else 0.0)
        act = narrowed(read_dim("act", SPACE["act"]), Evidence(history, "maximize"))
        self.assertEqual(len(act.values), 2)
        self.assertIn("relu", act.values)


def selection_task(proposals, history):
    pool = [{"proposal_id": f"ideation-1-1-p{i + 1}", "rationale": f"proposal {i + 1}", "sweep_config": config}
            for i, config in enumerate(proposals)]
    return task("metaopt-selection-worker", {"proposals": pool, "baseline": None, "learnings": [], "run_cap": 20,
                                             "history": history})


def config(**parameters):
    return {"method": "bayes", "metric": {"name": "acc", "goal": "maximize"}, "parameters": {**SPACE, **parameters}}


class Selection(unittest.TestCase):
    def test_without_trials_the_first_proposal_in_pool_order(self):
        result = answer(selection_task([config(), config(hidden={"value": 64})],
                                       {"trials": [], "trials_seen": 0, "latest_space": None}))
        self.assertEqual(result["winning_proposal_id"], "ideation-1-1-p1")

    def test_a_best_trial_at_a_bound_picks_the_proposal_that_widens_it(self):
        wide = config(lr={"distribution": "log_uniform_values", "min": 1.0e-4, "max": 1.0})
        narrow = config(lr={"distribution": "log_uniform_values", "min": 1.0e-2, "max": 1.0e-1})
        result = answer(selection_task([narrow, wide], grid_history()))
        self.assertEqual(result["winning_proposal_id"], "ideation-1-1-p2")

    def test_still_improving_picks_the_most_focused_space_holding_the_best_trial(self):
        history = grid_history(value=lambda p: -abs(math.log10(p["lr"]) + 2.5))  # optimum inside the range
        best_lr = Evidence(history, "maximize").best["params"]["lr"]
        focused = config(lr={"distribution": "log_uniform_values", "min": best_lr / 2, "max": best_lr * 2})
        missing = config(lr={"distribution": "log_uniform_values", "min": best_lr * 3, "max": best_lr * 4})
        result = answer(selection_task([config(), missing, focused], history))
        self.assertEqual(result["winning_proposal_id"], "ideation-1-1-p3")

    def test_a_sweep_that_did_not_improve_picks_the_widest_space_holding_the_best_trial(self):
        history = grid_history(value=lambda p: -abs(math.log10(p["lr"]) + 2.5))
        history["latest_space"]["iteration"] = 2  # the best trials came from iteration 1
        best_lr = Evidence(history, "maximize").best["params"]["lr"]
        focused = config(lr={"distribution": "log_uniform_values", "min": best_lr / 2, "max": best_lr * 2})
        result = answer(selection_task([focused, config()], history))
        self.assertEqual(result["winning_proposal_id"], "ideation-1-1-p2")


class Analysis(unittest.TestCase):
    def analysis_task(self, history, baseline=None, best_run=None):
        best = best_run or Evidence(history, "maximize").best
        return task("metaopt-analysis-worker", {
            "sweep_identity": "c-iter-2", "sweep_url": None,
            "sweep_config": {"method": "random", "metric": {"name": "acc", "goal": "maximize"}, "parameters": SPACE},
            "best_run": {"run_id": best["run_id"], "metric_value": best["metric_value"], "config": best["params"]},
            "trials": {"finished": len(history["trials"]), "failed": 2, "killed": 0}, "baseline": baseline,
            "learnings": [], "history": history})

    def test_learnings_name_importance_region_bounds_and_failures(self):
        result = answer(self.analysis_task(grid_history()))
        text = "\n".join(result["learnings"])
        self.assertIn("Importance over the trials: lr", text)
        self.assertIn("upper bound 0.1", text)
        self.assertIn("2 of 26 trials failed", text)
        self.assertTrue(result["improved"], "no baseline: the run sets it")

    def test_the_baseline_comparison_is_direction_aware(self):
        history = grid_history()
        best = Evidence(history, "maximize").best["metric_value"]
        worse = {"metric_value": best + 0.01, "source": "sweep", "iteration": 1}
        result = answer(self.analysis_task(history, baseline=worse))
        self.assertFalse(result["improved"])
        self.assertIn("not better than", result["best_run_explanation"])


if __name__ == "__main__":
    unittest.main()
