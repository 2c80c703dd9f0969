"""metaopt.py status for people and for machines: the --json document validates against its own
contract (status-output.schema.json) at every position of a real simulated campaign, keeps numbers
exact and projects spend by the documented rule; the text screen names the metric and direction,
rounds numbers, shows the sweep's progress of its run cap, the spend and its projection, and the best
configuration as `name = value` lines."""
import json
import re
import unittest

import support
import bad_input
import metaopt
import sim_host
from bad_input import fresh_copy, position, read_state

from metaopt_lib.contract import validation
from metaopt_lib.contract.clock import add_seconds
from metaopt_lib.report.numbers import readable

POLL_2 = bad_input.POLL_GATE_2                      # iteration 2's sweep just launched, no trial ended
FIRST_IDEATION = (1, "IDEATE", "plan_ideation")     # no proposal, no sweep, no baseline
PROPOSALS = bad_input.IDEATION_GATE                 # ideation tasks handed out, their results missing
ANALYSIS_2 = (2, "ANALYZE", "plan_analysis")        # iteration 2's sweep ended, not judged yet
AFTER_ITERATION = (2, "IDEATE", "plan_ideation")    # iteration 1 closed
COMPLETE = (2, "COMPLETE", "stopped")
LONG_FLOAT = re.compile(r"\d\.\d{6,}")              # 0.30000000000000004, 5.714285714285714, ...
BLOCKED = []


def status(root, now=None, json_output=True):
    """(exit code, document or text) of `metaopt.py status`, at `now` (default: the project's clock)."""
    argv = ["status", "--project-root", str(root), "--now", now or bad_input.clock(root)]
    code, out, err = support.run_cli(metaopt.main, argv + (["--json"] if json_output else []))
    if "Traceback" in err:
        raise AssertionError(err)
    return code, json.loads(out) if json_output else out.rstrip("\n")


def edit_state(root, change) -> dict:
    """Apply `change(state)` to the state with its history inline and write both back (the state
    through the validating writer)."""
    state = read_state(root)
    change(state)
    support.write_view(root, state)
    return state


def mid_sweep(state):
    """Iteration 2's sweep 45 minutes after its launch: 2 trials finished, 1 failed, 1 running, $0.30
    spent by its latest poll 30 minutes after launch; $0.10 spent by iteration 1 before it."""
    sweep = state["current_sweep"]
    polled = add_seconds(sweep["launched_at"], 1800)
    sweep.update(trials={"finished": 2, "running": 1, "failed": 1, "killed": 0, "interrupted": 0},
                 last_poll_at=polled, best_run={"run_id": "trial-2-b", "run_url": None, "metric_value": 0.123456789,
                                                "config": {"batch_size": 128, "lr": 0.0006500000000000001,
                                                           "optimizer": {"name": "adam", "beta": 0.9}}})
    entry = state["spend_ledger"]["entries"][1]
    entry.update(usd=0.3, updated_at=polled)
    state["spend_ledger"]["total_usd"] = 0.4


def mid_sweep_copy():
    root = fresh_copy(POLL_2)
    state = edit_state(root, mid_sweep)
    return root, add_seconds(state["current_sweep"]["launched_at"], 2700)


def blocked_project():
    """A fresh project without its preflight artifact, stepped once: BLOCKED_CONFIG."""
    BLOCKED.append(bad_input.work_dir() / f"blocked-{len(BLOCKED)}")
    root = BLOCKED[-1]
    root.mkdir(parents=True)
    sim_host.write_project(root, preflight=False)
    code, _, _ = support.run_cli(metaopt.main, ["step", "--project-root", str(root), "--json", "--now",
                                                sim_host.START])
    assert code == 0
    return root


def valid(testcase, document):
    testcase.assertEqual(validation.validate_document("status-output", document, "status"), [])


class JsonContract(unittest.TestCase):
    def test_the_view_validates_at_every_position_of_a_campaign_and_when_blocked(self):
        roots = dict(bad_input.world()["positions"], blocked=blocked_project())
        self.assertIn(COMPLETE, roots)
        for key, root in roots.items():
            with self.subTest(position=key):
                code, document = status(root, now=sim_host.START if key == "blocked" else None)
                self.assertEqual(code, 0)
                valid(self, document)
                code, text = status(root, now=sim_host.START if key == "blocked" else None, json_output=False)
                self.assertEqual(code, 0)
                self.assertIsNone(LONG_FLOAT.search(text), text)

    def test_a_mid_sweep_view_validates_and_keeps_numbers_exact(self):
        root, now = mid_sweep_copy()
        _, document = status(root, now)
        valid(self, document)
        self.assertEqual(document["at"], now)
        self.assertEqual(document["current_sweep_best"], 0.123456789)
        self.assertEqual(document["best"]["config"]["lr"], 0.0006500000000000001)
        self.assertEqual(document["current_sweep"]["usd_per_hour"], 0.3 / 0.5)

    def test_a_project_without_state_gets_the_error_document_of_the_contract(self):
        root = bad_input.work_dir() / "no-state"
        root.mkdir(parents=True, exist_ok=True)
        sim_host.write_project(root)
        code, document = status(root, now=sim_host.START)
        self.assertEqual(code, 1)
        self.assertEqual(document["error"]["code"], "state-invalid")
        valid(self, document)

    def test_the_contract_refuses_an_unknown_or_a_missing_field(self):
        _, document = status(position(POLL_2))
        self.assertNotEqual(validation.validate_document("status-output", dict(document, extra=1), "status"), [])
        del document["best"]
        self.assertNotEqual(validation.validate_document("status-output", document, "status"), [])
        _, document = status(position(POLL_2))
        document["current_sweep"]["projection"]["guess"] = 1.0
        self.assertNotEqual(validation.validate_document("status-output", document, "status"), [])


class Objective(unittest.TestCase):
    def test_the_metric_and_its_direction(self):
        _, text = status(position(POLL_2), json_output=False)
        self.assertIn("objective    val_loss, lower is better", text)
        _, document = status(position(POLL_2))
        self.assertEqual(document["objective"], {"metric": "val_loss", "direction": "minimize"})

    def test_a_maximized_metric_is_higher_is_better(self):
        root = fresh_copy(POLL_2)

        def maximize(state):
            for config in [state["selected_sweep"]["sweep_config"]] + [p["sweep_config"] for p in
                                                                       state["proposal_pool"]]:
                config["metric"] = {"name": "accuracy", "goal": "maximize"}
        edit_state(root, maximize)
        _, text = status(root, json_output=False)
        self.assertIn("objective    accuracy, higher is better", text)

    def test_before_any_proposal_the_screen_says_the_state_has_no_objective_yet(self):
        code, document = status(position(FIRST_IDEATION))
        self.assertEqual(code, 0)
        self.assertEqual((document["objective"], document["baseline"], document["best"], document["current_sweep"]),
                         (None, None, None, None))
        _, text = status(position(FIRST_IDEATION), json_output=False)
        for fragment in ("objective    not in the state yet", "baseline     none yet", "best so far  none yet",
                         "sweep        none yet", "best config  none yet", "spend        $0.00 of $5.00"):
            self.assertIn(fragment, text)


class Numbers(unittest.TestCase):
    def test_metric_values_are_rounded_for_reading_and_never_a_float_repr(self):
        root = fresh_copy(AFTER_ITERATION)

        def awkward(state):
            state["baseline"]["metric_value"] = 0.1 + 0.2
            state["completed_iterations"][0]["best_run"]["metric_value"] = 0.1 + 0.2
            state["completed_iterations"][0]["baseline_after"] = 0.1 + 0.2
        edit_state(root, awkward)
        _, document = status(root)
        self.assertEqual(document["baseline"], 0.30000000000000004)
        _, text = status(root, json_output=False)
        self.assertIn("baseline     0.3 (iteration 1, run trial-1-best)", text)
        self.assertIn("best so far  0.3 (iteration 1, run trial-1-best; the baseline)", text)
        self.assertNotIn("0.30000000000000004", text)

    def test_the_current_sweeps_best_and_rates_are_rounded(self):
        root, now = mid_sweep_copy()
        _, text = status(root, now, json_output=False)
        self.assertIn("best 0.12346", text)
        self.assertIsNone(LONG_FLOAT.search(text), text)


class Progress(unittest.TestCase):
    def test_trials_finished_running_and_failed_of_the_run_cap_and_the_elapsed_time(self):
        root, now = mid_sweep_copy()
        _, text = status(root, now, json_output=False)
        self.assertIn("sweep        sim-campaign-iter-2 running (local): 2 finished, 1 running, 1 failed of run cap 4; "
                      "best 0.12346", text)
        self.assertIn("running for 45m 00s", text)
        _, document = status(root, now)
        self.assertEqual(document["current_sweep"]["elapsed_seconds"], 2700)
        self.assertEqual(document["current_sweep"]["run_cap"], 4)

    def test_killed_and_interrupted_trials_show_when_there_are_any(self):
        root = fresh_copy(POLL_2)
        edit_state(root, lambda s: s["current_sweep"]["trials"].update(killed=2, interrupted=1))
        _, text = status(root, json_output=False)
        self.assertIn("0 failed, 2 killed, 1 interrupted of run cap 4", text)

    def test_an_ended_sweep_shows_how_long_it_ran_and_no_projection(self):
        _, text = status(position(COMPLETE), json_output=False)
        self.assertIn("sweep        sim-campaign-iter-2 finished (local): 2 finished, 0 running, 0 failed of run "
                      "cap 4; best 0.8", text)
        self.assertIn("ran for 1m 02s; spent $0.10", text)
        self.assertNotIn("projected", text)
        _, document = status(position(COMPLETE))
        self.assertEqual(document["current_sweep"]["projection"]["unavailable"], "the sweep has ended")

    def test_a_noise_floor_sweep_shows_its_purpose_and_its_own_run_cap(self):
        root = fresh_copy(POLL_2)
        rerun = {"run_id": "noise-t0", "run_url": None, "metric_value": 0.01, "config": {"lr": 0.01}}
        edit_state(root, lambda s: s["current_sweep"].update(sweep_identity="sim-campaign-iter-2-noise",
                                                             purpose="noise_floor", run_cap=3, best_run=rerun))
        _, text = status(root, json_output=False)
        self.assertIn("sweep        sim-campaign-iter-2-noise [noise floor: re-runs of the best configuration] "
                      "running (local): 0 finished, 0 running, 0 failed of run cap 3; best 0.01", text)
        _, document = status(root)
        self.assertEqual((document["current_sweep"]["purpose"], document["current_sweep"]["run_cap"]),
                         ("noise_floor", 3))
        self.assertNotEqual(document["best"]["run_id"], "noise-t0", "a re-run of the best configuration is no new best")

    def test_the_view_of_a_sweep_without_a_run_cap_in_the_state_says_so(self):
        # Selection of iteration 2 is recorded while iteration 1's sweep is still the current one.
        _, document = status(position((2, "LAUNCH_SWEEP", "request_launch")))
        self.assertEqual((document["current_sweep"]["iteration"], document["current_sweep"]["run_cap"]), (1, None))


class Spend(unittest.TestCase):
    def test_spend_rate_and_projection_at_the_run_cap_by_the_documented_rule(self):
        # $0.30 over 3 ended trials (2 finished + 1 failed) is $0.10 a trial; at the run cap of 4 the
        # sweep costs $0.40, and the campaign $0.10 (iteration 1) + $0.40 = $0.50. $0.30 in the 30
        # minutes from the launch to the ledger's update is $0.60 an hour.
        root, now = mid_sweep_copy()
        _, document = status(root, now)
        sweep = document["current_sweep"]
        projection = sweep["projection"]
        self.assertEqual((projection["rule"], projection["ended_trials"], projection["unavailable"]),
                         ("spend-per-ended-trial", 3, None))
        self.assertAlmostEqual(projection["usd_per_ended_trial"], 0.1)
        self.assertAlmostEqual(projection["sweep_usd_at_run_cap"], 0.4)
        self.assertAlmostEqual(projection["campaign_usd_at_run_cap"], 0.5)
        self.assertAlmostEqual(sweep["usd_per_hour"], 0.6)
        self.assertEqual((sweep["spent_usd"], document["budget"]["spent_usd"]), (0.3, 0.4))
        _, text = status(root, now, json_output=False)
        self.assertIn("running for 45m 00s; spent $0.30 at $0.60/h; projected $0.40 at the run cap "
                      "($0.10 per ended trial x 4)", text)
        self.assertIn("spend        $0.40 of $5.00 (8%), $4.60 left; projected $0.50 when this sweep reaches its "
                      "run cap", text)
        self.assertNotIn("over the cap", text)

    def test_a_projection_over_the_cap_says_so(self):
        root, now = mid_sweep_copy()
        edit_state(root, lambda s: s["spend_ledger"].update(max_budget_usd=0.45))
        _, text = status(root, now, json_output=False)
        self.assertIn("projected $0.50 when this sweep reaches its run cap (over the cap", text)

    def test_no_projection_before_a_trial_ended(self):
        _, document = status(position(POLL_2))
        projection = document["current_sweep"]["projection"]
        self.assertEqual(projection["unavailable"], "no trial has ended yet")
        self.assertEqual([projection[k] for k in ("usd_per_ended_trial", "sweep_usd_at_run_cap",
                                                  "campaign_usd_at_run_cap")], [None, None, None])
        _, text = status(position(POLL_2), json_output=False)
        self.assertIn("no projection at the run cap yet (no trial has ended yet)", text)

    def test_an_incomplete_cost_listing_is_never_projected(self):
        root, now = mid_sweep_copy()
        edit_state(root, lambda s: s["spend_ledger"]["entries"][1].update(complete=False))
        _, document = status(root, now)
        self.assertEqual(document["current_sweep"]["projection"]["unavailable"],
                         "the latest cost listing was incomplete")
        self.assertIsNone(document["current_sweep"]["usd_per_hour"])
        _, text = status(root, now, json_output=False)
        self.assertIn("spent $0.30 (listing incomplete); no projection at the run cap yet", text)

    def test_spend_of_a_sweep_before_its_ledger_entry_is_not_read_as_zero(self):
        _, document = status(position((1, "LAUNCH_SWEEP", "request_launch")))
        self.assertIsNone(document["current_sweep"])
        root = fresh_copy(bad_input.LAUNCH_GATE)
        edit_state(root, lambda s: s["spend_ledger"].update(entries=[], total_usd=0))
        _, document = status(root)
        sweep = document["current_sweep"]
        self.assertEqual((sweep["spent_usd"], sweep["projection"]["unavailable"]),
                         (None, "no spend is recorded for this sweep yet"))
        _, text = status(root, json_output=False)
        self.assertIn("not launched yet; no spend recorded yet", text)


class BestConfiguration(unittest.TestCase):
    def test_the_best_configuration_as_name_value_lines(self):
        _, text = status(position(COMPLETE), json_output=False)
        lines = text.splitlines()
        start = lines.index("best config  run trial-2-best (iteration 2)")
        self.assertEqual(lines[start + 1:start + 3], ["  batch_size = 64", "  lr = 0.02"])
        self.assertNotIn("{", text)

    def test_nested_values_are_dotted_and_floats_rounded(self):
        root, now = mid_sweep_copy()
        _, text = status(root, now, json_output=False)
        for line in ("best config  run trial-2-b (iteration 2; not the baseline, which metaopt.py best shows)",
                     "  batch_size = 128", f"  lr = {readable(0.0006500000000000001)}", "  optimizer.name = adam",
                     "  optimizer.beta = 0.9"):
            self.assertIn(line, text.splitlines())
        self.assertNotIn("0.0006500000000000001", text)

    def test_a_long_configuration_is_cut_at_twenty_lines(self):
        root, now = mid_sweep_copy()
        edit_state(root, lambda s: s["current_sweep"]["best_run"].update(config={f"p{i:02d}": i for i in range(30)}))
        _, text = status(root, now, json_output=False)
        self.assertIn("  p19 = 19", text)
        self.assertNotIn("  p20 = 20", text)
        self.assertIn("  ... and 10 more (status --json lists them all)", text)

    def test_the_best_run_of_an_open_iteration_is_not_judged_yet(self):
        _, document = status(position(ANALYSIS_2))
        self.assertEqual((document["best"]["iteration"], document["best"]["metric_value"],
                          document["best"]["judgement"]), (2, 0.8, "pending"))
        _, text = status(position(ANALYSIS_2), json_output=False)
        self.assertIn("best so far  0.8 (iteration 2, run trial-2-best; this sweep's, not judged yet)", text)
        self.assertIn("baseline     0.9 (iteration 1, run trial-1-best)", text)

    def test_a_better_run_that_did_not_move_the_baseline_is_shown_as_not_adopted(self):
        root = fresh_copy(COMPLETE)

        def below_threshold(state):
            record = state["completed_iterations"][1]
            record["best_run"]["metric_value"] = 0.898
            record.update(improved=False, baseline_after=0.9)
            state["baseline"] = dict(state["completed_iterations"][0]["best_run"], source="sweep", iteration=1)
            state["current_sweep"]["best_run"]["metric_value"] = 0.898
        edit_state(root, below_threshold)
        _, document = status(root)
        self.assertEqual((document["best"]["metric_value"], document["best"]["judgement"], document["baseline"]),
                         (0.898, "not-adopted", 0.9))
        _, text = status(root, json_output=False)
        self.assertIn("best so far  0.898 (iteration 2, run trial-2-best; not adopted: it did not beat the baseline "
                      "by the improvement threshold)", text)

    def test_a_better_run_whose_re_runs_did_not_beat_the_noise_says_so(self):
        root = fresh_copy(COMPLETE)

        def within_noise(state):
            record = state["completed_iterations"][1]
            record["best_run"]["metric_value"] = 0.85
            record.update(improved=False, baseline_after=0.9, noise_floor={
                "iteration": 2, "sweep_identity": "sim-campaign-iter-2-noise", "run_id": "trial-2-best",
                "config": record["best_run"]["config"], "repeats": 2, "seed_parameter": None, "seeds": None,
                "values": [0.88, 0.92], "mean": 0.9, "sd": 0.028, "sd_multiple": 2, "stop_reason": "finished"})
            state["baseline"] = dict(state["completed_iterations"][0]["best_run"], source="sweep", iteration=1)
        edit_state(root, within_noise)
        _, document = status(root)
        self.assertEqual(document["best"]["judgement"], "not-adopted-noise-floor")
        _, text = status(root, json_output=False)
        self.assertIn("not adopted: the mean of its re-runs did not beat the baseline by the improvement threshold "
                      "and beyond the noise floor", text)

    def test_a_campaign_given_baseline(self):
        root = fresh_copy(FIRST_IDEATION)
        edit_state(root, lambda s: s["hydration"].update(initial_baseline={"metric_value": 1.25, "source": "campaign"}))
        _, text = status(root, json_output=False)
        self.assertIn("baseline     1.25 (given by the campaign)", text)


class Waiting(unittest.TestCase):
    def test_what_the_campaign_waits_for(self):
        cases = {PROPOSALS: "worker results: 2 x metaopt-ideation-worker",
                 POLL_2: "the executor: poll_sweep poll-",
                 COMPLETE: "nothing: the campaign has stopped"}
        for key, expected in cases.items():
            with self.subTest(position=key):
                _, document = status(position(key))
                self.assertTrue(document["waiting_for"].startswith(expected), document["waiting_for"])
                _, text = status(position(key), json_output=False)
                self.assertIn(f"; waiting for {expected}", text)

    def test_a_blocked_campaign_waits_for_you_and_says_the_fix(self):
        root = blocked_project()
        _, document = status(root, now=sim_host.START)
        self.assertTrue(document["waiting_for"].startswith("you: "), document["waiting_for"])
        _, text = status(root, now=sim_host.START, json_output=False)
        self.assertIn("[BLOCKED_CONFIG]", text)
        self.assertIn("blocked      ", text)
        self.assertIn("next: stop", text)

    def test_the_pending_work_the_recent_journal_lines_and_the_next_action_fit_one_screen(self):
        _, text = status(position(POLL_2), json_output=False)
        lines = text.splitlines()
        self.assertTrue(any(line.startswith("pending      poll-2-") for line in lines), text)
        self.assertEqual(len([line for line in lines if line.startswith("recent       ")]), 5)
        self.assertEqual(lines[-1], "next: step")
        self.assertLessEqual(len(lines), 20, "one screen")


if __name__ == "__main__":
    unittest.main()
