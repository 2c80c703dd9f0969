"""The one rule for whether a sweep's result moves the baseline (contract/improvement.py), and the
report's account of it: the threshold, the noise floor of the re-runs, and what the agents added
against the budget-matched random search."""
import unittest

import support  # noqa: F401

from metaopt_lib.contract import improvement as rule
from metaopt_lib.contract.improvement import judge, mean_and_sd
from metaopt_lib.report.honesty_sections import agents_added_section, verdict_words


def noise(values, sd_multiple=2, repeats=3, iteration=2):
    mean, sd = mean_and_sd(values)
    return {"iteration": iteration, "sweep_identity": f"c-iter-{iteration}-noise", "run_id": "t1", "config": {},
            "repeats": repeats, "seed_parameter": "seed", "seeds": [1, 2, 3], "values": values, "mean": mean,
            "sd": sd, "sd_multiple": sd_multiple, "stop_reason": "finished"}


class Judge(unittest.TestCase):
    def test_mean_and_sample_sd(self):
        self.assertEqual(mean_and_sd([1.0, 2.0, 3.0]), (2.0, 1.0))
        self.assertEqual(mean_and_sd([5.0]), (5.0, None))
        self.assertEqual(mean_and_sd([]), (None, None))
        self.assertEqual(mean_and_sd([1.0, float("nan"), 3.0]), (2.0, 2 ** 0.5))

    def test_without_a_noise_floor_the_threshold_decides_on_the_best_value(self):
        cases = [(0.5, None, rule.FIRST), (None, 0.6, rule.NO_RESULT), (0.59, 0.6, rule.ADOPTED),
                 (0.596, 0.6, rule.BELOW_THRESHOLD), (0.61, 0.6, rule.NOT_BETTER)]
        for best, baseline, code in cases:
            with self.subTest(best=best, baseline=baseline):
                verdict = judge(best, baseline, "minimize", 0.005)
                self.assertEqual(verdict.code, code)
                self.assertEqual(verdict.adopted, code in (rule.FIRST, rule.ADOPTED))

    def test_a_gain_above_the_threshold_but_within_the_noise_is_refused(self):
        floor = noise([0.8, 0.9, 1.0])  # mean 0.9, sd 0.1: 2 sd = 0.2
        verdict = judge(1.2, 0.75, "maximize", 0.05, floor, floor["sd_multiple"])
        self.assertEqual((verdict.code, verdict.adopted), (rule.WITHIN_NOISE, False))
        self.assertAlmostEqual(verdict.value, 0.9, msg="the mean of the re-runs is judged, not the best trial")
        self.assertAlmostEqual(verdict.gain, 0.15)
        self.assertAlmostEqual(verdict.noise_bound, 0.2)

    def test_a_gain_beyond_the_threshold_and_the_noise_is_adopted(self):
        floor = noise([0.89, 0.9, 0.91])  # sd 0.01: 2 sd = 0.02
        verdict = judge(0.95, 0.8, "maximize", 0.05, floor, 2)
        self.assertEqual((verdict.code, verdict.adopted), (rule.ADOPTED, True))
        self.assertAlmostEqual(verdict.value, 0.9)

    def test_the_threshold_still_applies_with_a_noise_floor(self):
        floor = noise([0.899, 0.9, 0.901])
        self.assertEqual(judge(0.95, 0.88, "maximize", 0.05, floor, 2).code, rule.BELOW_THRESHOLD)

    def test_direction_aware_for_a_minimized_metric(self):
        floor = noise([0.5, 0.51, 0.52])  # mean 0.51, sd 0.01
        self.assertEqual(judge(0.49, 0.6, "minimize", 0.0, floor, 2).code, rule.ADOPTED)
        self.assertEqual(judge(0.49, 0.52, "minimize", 0.0, floor, 2).code, rule.WITHIN_NOISE)

    def test_one_finished_re_run_cannot_measure_the_noise(self):
        floor = noise([0.9], repeats=3)
        verdict = judge(0.95, 0.5, "maximize", 0.0, floor, 2)
        self.assertEqual((verdict.code, verdict.adopted, verdict.finished, verdict.repeats),
                         (rule.NOISE_UNMEASURED, False, 1, 3))

    def test_the_first_result_is_the_mean_of_its_re_runs(self):
        floor = noise([0.8, 0.9, 1.0])
        verdict = judge(1.2, None, "maximize", 0.05, floor, 2)
        self.assertEqual(verdict.code, rule.FIRST)
        self.assertAlmostEqual(verdict.value, 0.9)


class VerdictWords(unittest.TestCase):
    def test_each_verdict_says_why(self):
        floor = noise([0.8, 0.9, 1.0])
        within = verdict_words(judge(1.2, 0.75, "maximize", 0.05, floor, 2), False, floor)
        self.assertEqual(within, "the mean of 3 re-runs is better by 0.15, but not beyond the noise bound 0.2 "
                                 "(2 sd of the re-runs): not adopted")
        adopted = verdict_words(judge(1.2, 0.5, "maximize", 0.05, floor, 2), True, floor)
        self.assertEqual(adopted, "the mean of 3 re-runs is better by 0.4, above the threshold 0.05 and the noise "
                                  "bound 0.2 (2 sd of the re-runs): adopted")
        single = noise([0.9])
        self.assertIn("only 1 of 3 re-runs finished", verdict_words(judge(1.0, 0.5, "maximize", 0, single, 2), False,
                                                                     single))
        self.assertEqual(verdict_words(judge(0.59, 0.6, "maximize", 0.0), False, None), "not better than the baseline")


def control_state(control_best, noise_values=None):
    record = {"iteration": 1, "sweep_identity": "c-iter-1", "proposal_id": "p", "improved": True,
              "best_run": {"run_id": "t9", "metric_value": 0.95, "config": {}}, "baseline_after": 0.95,
              "spend_usd": 0}
    if noise_values:
        record["noise_floor"] = noise(noise_values, iteration=1)
    return {"completed_iterations": [record], "baseline": {"iteration": 1, "metric_value": 0.95},
            "control": {"iteration": 1, "sweep_identity": "c-iter-1-control", "trial_budget": 10,
                        "space_source": "search_space", "stop_reason": "finished",
                        "trials": {"finished": 10, "running": 0, "failed": 0, "killed": 0},
                        "best_run": {"run_id": "r", "metric_value": control_best, "config": {}}}}


CAMPAIGN = {"objective": {"metric": "acc", "direction": "maximize"}, "honesty": {"random_search_control": True}}


class AgentsAdded(unittest.TestCase):
    def section(self, state):
        return "\n".join(agents_added_section(state, CAMPAIGN, {}))

    def test_a_difference_within_the_noise_floor_cannot_be_told_from_noise(self):
        text = self.section(control_state(0.94, [0.92, 0.93, 0.94]))  # sd 0.01: 2 sd = 0.02 > 0.01
        self.assertIn("| the campaign's agents (best trial of its search sweeps) | 0.95 |", text)
        self.assertIn("| random search, same trial budget | 0.94 |", text)
        self.assertIn("ran with the campaign's trial budget (10 trials", text)
        self.assertIn("better than random search's by 0.01", text)
        self.assertIn("within the noise floor, so it cannot be told from noise", text)

    def test_a_difference_beyond_the_noise_floor(self):
        text = self.section(control_state(0.9, [0.94, 0.945, 0.95]))
        self.assertIn("beyond the noise floor", text)

    def test_random_search_doing_better_is_said_plainly(self):
        text = self.section(control_state(0.97))
        self.assertIn("Random search's best is better than the agents' by 0.02", text)
        self.assertIn("No noise floor was measured", text)

    def test_a_control_that_did_not_run_is_named(self):
        state = dict(control_state(0.9), control=None)
        self.assertIn("did not run", self.section(state))
        self.assertEqual(agents_added_section(state, {**CAMPAIGN, "honesty": {}}, {}), [])


if __name__ == "__main__":
    unittest.main()
