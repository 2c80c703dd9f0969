"""metaopt-iteration-close-control: ROLL_ITERATION / roll_iteration. The iteration is recorded once,
the baseline only ever moves to a better value, learnings carry over, and every stop condition ends
the campaign before the next iteration can spend. Every envelope is validated against its state and
applied with the engine, which proves the next state is valid."""
import copy
import json
import unittest

import support

from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract import validation
from metaopt_lib.handoffs import iteration_close
from metaopt_lib.handoffs.common import Inputs

NOW = "2026-11-22T12:10:00Z"


def roll_state(best_value=None, improved=None, claimed=None, **changes):
    """The roll-iteration fixture (iteration 2, baseline 0.612 minimize, best 0.574, spend 0.42)."""
    state = json.loads((support.FIXTURES / "state" / "valid" / "roll-iteration.json").read_text(encoding="utf-8"))
    analysis = state["analysis"]
    if best_value is not None:
        analysis["best_run"]["metric_value"] = best_value
    if improved is not None:
        analysis["improved"] = improved
    if claimed is not None:
        analysis["worker_claimed_improved"] = claimed
    state.update(copy.deepcopy(changes))
    return state


def load_campaign(**changes):
    return support.fixture_campaign(**changes)


class RollIteration(unittest.TestCase):
    maxDiff = None

    def step(self, state, campaign=None, history=None):
        """(envelope, the state after it with its history inline)."""
        campaign = load_campaign() if campaign is None else campaign
        campaign = None if campaign is False else campaign
        history = support.fixture_history("roll-iteration") if history is None else history
        envelope = iteration_close.handoff(state, campaign, Inputs(now=NOW, history=history))
        issues = validation.validate_document("handoff-envelope", envelope, "envelope", validation.Context(state=state))
        self.assertEqual([i.message for i in issues], [])
        return envelope, support.applied_view(state, history, envelope, NOW)[0]

    def report_paths(self, envelope):
        return [d["payload"]["report_path"] for d in envelope["directives"] if d["type"] == "emit_iteration_report"]

    def test_an_improved_iteration_moves_the_baseline_and_starts_the_next(self):
        state = roll_state()
        envelope, new = self.step(state)
        best = state["analysis"]["best_run"]
        self.assertEqual(new["baseline"], {"metric_value": 0.574, "source": "sweep", "iteration": 2,
                                           "run_id": "trial-0014", "run_url": None, "config": best["config"]})
        self.assertEqual(new["completed_iterations"][-1], {
            "iteration": 2, "sweep_identity": "cifar10-resnet-iter-2", "proposal_id": "prop-2-1", "best_run": best,
            "improved": True, "baseline_after": 0.574, "spend_usd": 0.42,
            "trials": state["current_sweep"]["trials"], "runner_restarts": 0})
        self.assertEqual(new["no_improve_streak"], 0)
        self.assertEqual(new["learnings"][-1], {"iteration": 2,
                                                "text": "weight_decay near 4e-4 beat 1e-5 by 0.03 val_loss at equal lr."})
        self.assertEqual(self.report_paths(envelope), [".ml-metaopt/reports/iteration-2.md"])
        self.assertEqual((envelope["outcome"], new["machine_state"], new["phase"], new["iteration"]),
                         ("advance", "IDEATE", "plan_ideation", 3))

    def test_an_iteration_without_improvement_keeps_the_baseline_and_grows_the_streak(self):
        state = roll_state(best_value=0.609, improved=False, claimed=True, no_improve_streak=1)
        _, new = self.step(state)
        self.assertEqual(new["baseline"], state["baseline"])
        self.assertEqual(new["no_improve_streak"], 2)
        self.assertEqual((new["completed_iterations"][-1]["improved"], new["completed_iterations"][-1]["baseline_after"]),
                         (False, 0.612))
        self.assertEqual(new["iteration"], 3)

    def test_the_baseline_never_moves_to_a_worse_value(self):
        cases = {"worse run recorded as improved": (0.7, True, True),
                 "within the threshold recorded as improved": (0.61, True, True),
                 "worse run, worker claims improvement": (0.7, False, True)}
        for name, (value, improved, claimed) in cases.items():
            with self.subTest(case=name):
                state = roll_state(best_value=value, improved=improved, claimed=claimed)
                _, new = self.step(state)
                self.assertEqual(new["baseline"], state["baseline"])
                self.assertFalse(new["completed_iterations"][-1]["improved"])
                self.assertEqual(new["completed_iterations"][-1]["baseline_after"], 0.612)
                self.assertEqual(new["no_improve_streak"], 1)

    def test_the_campaign_baseline_is_what_a_first_sweep_must_beat(self):
        cases = {"beaten": (0.6, True, 0.574), "not beaten": (0.55, False, 0.55)}
        for name, (initial, moves, after) in cases.items():
            with self.subTest(case=name):
                state = roll_state(improved=moves, baseline=None)
                state["hydration"]["initial_baseline"] = {"metric_value": initial, "source": "campaign"}
                _, new = self.step(state)
                self.assertEqual(new["baseline"] is not None, moves)
                self.assertEqual(new["completed_iterations"][-1]["baseline_after"], after)

    def test_an_iteration_without_any_metric_counts_as_no_improvement(self):
        state = roll_state(improved=False)
        state["analysis"]["best_run"] = None
        _, new = self.step(state)
        self.assertIsNone(new["completed_iterations"][-1]["best_run"])
        self.assertEqual(new["no_improve_streak"], 1)

    def test_every_stop_condition_completes_the_campaign_with_the_iteration_report(self):
        cases = {  # iteration 2, best 0.574 (improves on 0.612), spend 0.77 of 10
            "target_metric": (roll_state(), {"stop_conditions.target_metric": 0.58}),
            "max_iterations": (roll_state(), {"stop_conditions.max_iterations": 2}),
            "no_improve_iterations": (roll_state(best_value=0.609, improved=False, no_improve_streak=1),
                                      {"stop_conditions.no_improve_iterations": 2}),
            "budget exhausted": (roll_state(), {"compute.max_budget_usd": 0.77}),
            "cannot pay the next launch": (roll_state(), {"compute.max_budget_usd": 1.0,
                                                          "compute.local.hourly_cost_usd": 0.5}),
        }
        for name, (state, changes) in cases.items():
            with self.subTest(condition=name):
                envelope, new = self.step(state, load_campaign(**changes))
                self.assertEqual((envelope["outcome"], new["machine_state"]), ("advance", "COMPLETE"))
                self.assertIn(name, new["terminal"]["reason"])
                if name == "cannot pay the next launch":  # 0.23 left, the next launch reserves 0.5
                    self.assertIn("budget exhausted", new["terminal"]["reason"])
                self.assertEqual(self.report_paths(envelope), [".ml-metaopt/reports/iteration-2.md"])
                self.assertEqual(new["iteration"], 2)
                self.assertEqual([r["iteration"] for r in new["completed_iterations"]], [1, 2])
                self.assertIn("emit_final_report", [d["type"] for d in envelope["directives"]])

    def test_the_target_is_direction_aware_and_measured_on_the_baseline(self):
        maximize = load_campaign(**{"objective.direction": "maximize", "stop_conditions.target_metric": 0.8})
        cases = {  # (campaign, best value, improved, stops)
            "minimize, target not reached": (load_campaign(**{"stop_conditions.target_metric": 0.5}), 0.574, True,
                                             False),
            "minimize, target only reached by a non-improving run": (
                load_campaign(**{"stop_conditions.target_metric": 0.6}), 0.574, False, False),
            "maximize, target reached": (maximize, 0.85, True, True),
            "maximize, below target": (maximize, 0.75, True, False),
        }
        for name, (campaign, value, improved, stops) in cases.items():
            with self.subTest(case=name):
                state = roll_state(best_value=value, improved=improved)
                state["campaign"]["identity_hash"] = campaign_lib.identity_hash(campaign)
                if campaign["objective"]["direction"] == "maximize":
                    state["baseline"]["metric_value"] = 0.7
                _, new = self.step(state, campaign)
                self.assertEqual(new["machine_state"], "COMPLETE" if stops else "IDEATE")

    def test_an_iteration_is_counted_once(self):
        _, new = self.step(roll_state())
        self.assertEqual([r["iteration"] for r in new["completed_iterations"]], [1, 2])
        self.assertEqual(new["iteration"], 3)
        # A state whose history already holds this iteration's record (restored after the roll was recorded).
        state = roll_state()
        history = support.history_of(state, iterations=copy.deepcopy(new["completed_iterations"]),
                                     learnings=copy.deepcopy(new["learnings"]))
        state["baseline"] = copy.deepcopy(new["baseline"])
        envelope, again = self.step(state, history=history)
        self.assertEqual([r["iteration"] for r in again["completed_iterations"]], [1, 2])
        self.assertEqual(again["learnings"], new["learnings"])
        self.assertFalse([op for op in envelope["state_patch"] if op["path"] != "/iteration"])
        self.assertEqual((again["machine_state"], again["iteration"]), ("IDEATE", 3))

    def test_an_invalid_or_changed_campaign_blocks(self):
        renamed = load_campaign(**{"campaign.name": "another-campaign"})
        for name, campaign, code in (("invalid", False, "campaign-invalid"),
                                     ("identity changed", renamed, "campaign-identity-changed")):
            with self.subTest(case=name):
                envelope, new = self.step(roll_state(), campaign)
                self.assertEqual((envelope["outcome"], new["machine_state"], new["block"]["code"]),
                                 ("blocked", "BLOCKED_CONFIG", code))
                self.assertEqual((new["block"]["resume_state"], new["block"]["resume_phase"]),
                                 ("ROLL_ITERATION", "roll_iteration"))
                self.assertEqual(new["completed_iterations"], support.fixture_history("roll-iteration").records(
                    "iterations"))

    def test_a_state_of_another_agent_is_refused(self):
        state = roll_state(machine_state="ANALYZE", phase="finalize_analysis")
        with self.assertRaises(ValueError):
            iteration_close.handoff(state, load_campaign(), Inputs(now=NOW))


if __name__ == "__main__":
    unittest.main()
