"""The honesty sweeps in the control plane (campaign `honesty`, issue 13): the noise floor's re-runs and
the budget-matched random-search control go through the normal launch and poll path, count against
the budget, and decide (the noise floor) or report (the control) exactly as documented. Every
envelope is validated against its state and applied with the engine, which proves the next state is
valid."""
import copy
import json
import unittest

import support

from metaopt_lib.contract import machine, validation
from metaopt_lib.handoffs import HANDOFFS
from metaopt_lib.handoffs.common import Inputs, ResultInput
from metaopt_lib.handoffs.honesty import seeds_for

NOW = "2026-11-22T12:10:00Z"
SEARCH = "cifar10-resnet-iter-2"
NOISE, CONTROL = SEARCH + "-noise", SEARCH + "-control"
BEST_CONFIG = {"lr": 0.022, "weight_decay": 0.00041, "batch_size": 128}
SPACE = {"lr": {"distribution": "log_uniform_values", "min": 0.001, "max": 0.1}, "batch_size": {"values": [64, 128]}}


def fixture_state(name, **changes):
    state = json.loads((support.FIXTURES / "state" / "valid" / f"{name}.json").read_text(encoding="utf-8"))
    state.update(copy.deepcopy(changes))
    return state


def campaign(repeats=3, control=False, **changes):
    honesty = {"random_search_control": control}
    if repeats:
        honesty["noise_floor"] = {"repeats": repeats, "sd_multiple": 2}
    return support.fixture_campaign(**{"honesty": honesty, **changes})


def landed(kind, document, context=None):
    issues = validation.validate_document(kind, document, "result.json", context)
    return ResultInput(exists=True, document=document, issues=tuple(issues))


def executor_result(fixture, directive_id, **details):
    document = json.loads((support.FIXTURES / "executor-result" / "valid" / f"{fixture}.json").read_text())
    document["directive_id"] = directive_id
    document["details"].update(details)
    result = landed("executor-result", document)
    assert not result.issues, result.issues  # a test's result must be one the executor could write
    return result


def analysis_result(task_id):
    return landed("analysis-result", {
        "schema_version": 1, "task_id": task_id, "worker": "metaopt-analysis-worker", "status": "ok",
        "best_run_explanation": "weight decay let a higher lr converge.", "learnings": ["wd 4e-4 helps."],
        "improved": True}, validation.Context(task_id=task_id))


def table(identity, values, params=None):
    rows = [{"run_id": f"{identity}-t{n}", "state": "finished", "params": dict(params or BEST_CONFIG, seed=n + 1),
             "metric_value": value, "started_at": None, "duration_seconds": 1.0} for n, value in enumerate(values)]
    return {"schema_version": 1, "sweep_identity": identity, "backend": "local",
            "space": {"method": "random", "parameters": SPACE}, "updated_at": NOW, "trials": rows}


def noise_record(values, mean, sd, iteration=2, repeats=3):
    return {"iteration": iteration, "sweep_identity": f"cifar10-resnet-iter-{iteration}-noise", "run_id": "trial-0014",
            "config": BEST_CONFIG, "repeats": repeats, "seed_parameter": "seed", "seeds": [1, 2, 3],
            "values": values, "mean": mean, "sd": sd, "sd_multiple": 2, "stop_reason": "finished"}


class HonestyCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.history = support.fixture_history("roll-iteration")  # iteration 1's record, learning, spend

    def step(self, state, campaign, results=None, tables=None):
        """Run the governing handoff, check its envelope against the state, apply it; (envelope, the state
        after it with its history inline). The history carries on to the next step."""
        state = support.hot_state(state)
        agent = machine.governing_agent(state["machine_state"])
        inputs = Inputs(now=NOW, results=results or {}, trial_table=lambda identity: (tables or {}).get(identity),
                        history=self.history)
        envelope = HANDOFFS[agent](state, campaign, inputs)
        issues = validation.validate_document("handoff-envelope", envelope, "envelope", validation.Context(state=state))
        self.assertEqual([i.message for i in issues], [])
        view, self.history = support.applied_view(state, self.history, envelope, NOW)
        return envelope, view

    def launch(self, envelope):
        [directive] = [d for d in envelope["directives"] if d["type"] == "launch_sweep"]
        return directive["payload"]

    def assertAt(self, state, machine_state, phase):
        self.assertEqual((state["machine_state"], state["phase"]), (machine_state, phase))

    def analyzed(self, campaign):
        """ANALYZE of iteration 2 with its worker's result landed: the state after the analysis."""
        state = fixture_state("analyze")
        _, state = self.step(state, campaign, {"analysis-2-1": analysis_result("analysis-2-1")})
        return state


class NoiseFloorLaunch(HonestyCase):
    def test_an_analyzed_sweep_launches_its_noise_floor_before_the_iteration_closes(self):
        honest = campaign(repeats=3, **{"honesty.noise_floor.seed_parameter": "seed"})
        state = self.analyzed(honest)
        self.assertAt(state, "LAUNCH_SWEEP", "request_launch")
        self.assertEqual(state["analysis"]["trials"], {"finished": 18, "running": 0, "failed": 1, "killed": 1})
        envelope, state = self.step(state, honest)
        payload = self.launch(envelope)
        self.assertEqual((payload["sweep_identity"], payload["purpose"]), (NOISE, "noise_floor"))
        self.assertEqual(payload["sweep_config"], {
            "metric": {"name": "val_loss", "goal": "minimize"}, "program": "train.py",
            "command": ["${env}", "${interpreter}", "${program}", "${args}"], "method": "grid",
            "parameters": {"lr": {"value": 0.022}, "weight_decay": {"value": 0.00041}, "batch_size": {"value": 128},
                           "seed": {"values": [1, 2, 3]}},
            "run_cap": 3})
        sweep = state["current_sweep"]
        self.assertEqual((sweep["sweep_identity"], sweep["purpose"], sweep["run_cap"], sweep["resources_live"]),
                         (NOISE, "noise_floor", 3, True))
        self.assertIn(NOISE, [e["sweep_identity"] for e in state["spend_ledger"]["entries"]],
                      "the re-runs' spend has its ledger entry: it counts against the cap")

    def test_without_a_seed_the_configuration_is_repeated_as_it_is(self):
        honest = campaign(repeats=4)
        envelope, _ = self.step(self.analyzed(honest), honest)
        config = self.launch(envelope)["sweep_config"]
        self.assertEqual((config["method"], config["run_cap"]), ("random", 4))
        self.assertEqual(sorted(config["parameters"]), ["batch_size", "lr", "weight_decay"])

    def test_the_seed_the_smoke_test_saw_read_is_varied(self):
        honest = campaign(repeats=2)
        state = self.analyzed(honest)
        state["sanity"] = {"iteration": 2, "proposal_id": "prop-2-1", "unread_keys": [], "rejections": 0,
                           "seed_parameter": "random_state"}
        envelope, _ = self.step(state, honest)
        self.assertEqual(self.launch(envelope)["sweep_config"]["parameters"]["random_state"], {"values": [1, 2]})
        state["sanity"]["iteration"] = 1  # another iteration's finding does not count
        envelope, _ = self.step(state, honest)
        self.assertNotIn("random_state", self.launch(envelope)["sweep_config"]["parameters"])

    def test_seeds_leave_out_the_best_runs_own(self):
        self.assertEqual(seeds_for(2, 3), [1, 3, 4])
        self.assertEqual(seeds_for(None, 3), [1, 2, 3])
        self.assertEqual(seeds_for("a", 2), [1, 2])

    def test_no_best_run_means_no_noise_floor(self):
        honest = campaign()
        state = fixture_state("analyze")
        state["current_sweep"]["best_run"] = None
        _, state = self.step(state, honest, {"analysis-2-1": analysis_result("analysis-2-1")})
        self.assertAt(state, "ROLL_ITERATION", "roll_iteration")

    def test_a_noise_floor_turned_off_before_its_launch_closes_the_iteration_by_the_threshold(self):
        state = self.analyzed(campaign())
        _, state = self.step(state, campaign(repeats=0))
        self.assertAt(state, "ROLL_ITERATION", "roll_iteration")
        _, state = self.step(state, campaign(repeats=0))
        self.assertTrue(state["completed_iterations"][-1]["improved"])
        self.assertNotIn("noise_floor", state["completed_iterations"][-1])

    def test_the_smoke_test_looks_for_a_seed_only_when_the_noise_floor_needs_one(self):
        state = fixture_state("local-sanity", phase="request_smoke_test", pending=[])
        for honest, expected in ((campaign(), ["seed", "random_seed", "random_state", "rng_seed"]),
                                 (campaign(**{"honesty.noise_floor.seed_parameter": "s"}), None),
                                 (campaign(repeats=0), None)):
            envelope, _ = self.step(state, honest)
            self.assertEqual(envelope["directives"][0]["payload"].get("seed_candidates"), expected)


class NoiseFloorEnd(HonestyCase):
    def noise_sweep_finished(self):
        """WAIT_FOR_SWEEP of the noise floor, its last poll landed: finished, nothing live."""
        state = fixture_state("wait-for-sweep", phase="gate_poll")
        state["analysis"] = copy.deepcopy(fixture_state("roll-iteration")["analysis"])
        state["current_sweep"].update(sweep_identity=NOISE, purpose="noise_floor", run_cap=3, sweep_id="local-noise")
        best = dict(state["analysis"]["best_run"], run_id="noise-t1", metric_value=0.58)
        poll = executor_result("poll-finished", state["pending"][0]["id"], sweep_identity=NOISE,
                               sweep_id="local-noise", trials={"finished": 3, "running": 0, "failed": 0, "killed": 0},
                               best_run=best)
        return state, {state["pending"][0]["id"]: poll}

    def test_the_end_of_the_re_runs_records_their_mean_and_sd_then_closes_the_iteration(self):
        state, results = self.noise_sweep_finished()
        envelope, new = self.step(state, campaign(), results, {NOISE: table(NOISE, [0.58, 0.6, 0.62])})
        self.assertAt(new, "ROLL_ITERATION", "roll_iteration")
        noise = new["noise_floor"]
        self.assertEqual((noise["values"], noise["repeats"], noise["run_id"], noise["config"]),
                         ([0.58, 0.6, 0.62], 3, "trial-0014", BEST_CONFIG))
        self.assertAlmostEqual(noise["mean"], 0.6)
        self.assertAlmostEqual(noise["sd"], 0.02)
        entry = [e for e in new["spend_ledger"]["entries"] if e["sweep_identity"] == NOISE]
        self.assertEqual([e["usd"] for e in entry], [0.42], "the re-runs' spend is in the ledger")

    def test_the_budget_running_out_during_the_re_runs_keeps_what_they_measured(self):
        state, results = self.noise_sweep_finished()
        poll_id = state["pending"][0]["id"]
        results[poll_id].document["details"].update(sweep_status="budget_exceeded", stop_reason="budget")
        results[poll_id].document["details"]["trials"]["finished"] = 2
        envelope, new = self.step(state, campaign(), results, {NOISE: table(NOISE, [0.58, 0.6])})
        self.assertEqual(new["machine_state"], "COMPLETE")
        self.assertEqual(new["terminal"]["resume"], {"resume_state": "ROLL_ITERATION", "resume_phase": "roll_iteration",
                                                     "limits": ["budget"]})
        self.assertEqual(new["noise_floor"]["values"], [0.58, 0.6])
        self.assertIn("(cut short)", new["terminal"]["reason"])


class NoiseRule(HonestyCase):
    """ROLL_ITERATION with this iteration's noise floor: baseline 0.612 (minimize), threshold 0.005."""

    def roll(self, noise, honest=None):
        state = fixture_state("roll-iteration")
        state["analysis"]["trials"] = {"finished": 18, "running": 0, "failed": 1, "killed": 1}
        state["noise_floor"] = noise
        _, new = self.step(state, honest or campaign())
        return new

    def test_a_gain_within_the_noise_is_refused(self):
        # the mean 0.6 beats 0.612 by 0.012 > threshold 0.005, but 2 sd = 0.04 > 0.012
        new = self.roll(noise_record([0.58, 0.6, 0.62], 0.6, 0.02))
        record = new["completed_iterations"][-1]
        self.assertFalse(record["improved"])
        self.assertEqual(new["baseline"]["metric_value"], 0.612)
        self.assertEqual(new["no_improve_streak"], 1)
        self.assertEqual(record["noise_floor"]["sd"], 0.02)

    def test_a_gain_beyond_the_noise_moves_the_baseline_to_the_mean_of_the_re_runs(self):
        new = self.roll(noise_record([0.571, 0.575, 0.573], 0.573, 0.002))
        record = new["completed_iterations"][-1]
        self.assertTrue(record["improved"])
        self.assertEqual((new["baseline"]["metric_value"], new["baseline"]["run_id"]), (0.573, "trial-0014"))
        self.assertEqual(record["baseline_after"], 0.573)

    def test_the_mean_is_judged_not_the_lucky_best_trial(self):
        # the best trial 0.574 beats the baseline by far; its re-runs average 0.61: not by the threshold
        new = self.roll(noise_record([0.609, 0.61, 0.611], 0.61, 0.001))
        self.assertFalse(new["completed_iterations"][-1]["improved"])

    def test_too_few_finished_re_runs_tell_nothing_of_the_noise(self):
        new = self.roll(noise_record([0.55], 0.55, None))
        self.assertFalse(new["completed_iterations"][-1]["improved"])

    def test_the_sd_multiple_recorded_with_the_re_runs_is_the_one_applied(self):
        noise = dict(noise_record([0.58, 0.6, 0.62], 0.6, 0.02), sd_multiple=0.5)  # 0.5 sd = 0.01 < 0.012
        self.assertTrue(self.roll(noise)["completed_iterations"][-1]["improved"])

    def test_another_iterations_noise_floor_is_not_used(self):
        new = self.roll(noise_record([0.58, 0.6, 0.62], 0.6, 0.02, iteration=1) | {"sweep_identity": "cifar10-resnet-iter-1-noise"})
        record = new["completed_iterations"][-1]
        self.assertTrue(record["improved"], "judged by the threshold on its best run")
        self.assertNotIn("noise_floor", record)


class Control(HonestyCase):
    def stopping(self, honest, tables=None):
        """ROLL_ITERATION of iteration 2, the last one the campaign allows."""
        state = fixture_state("roll-iteration")
        state["analysis"]["trials"] = {"finished": 18, "running": 0, "failed": 1, "killed": 1, "interrupted": 2}
        first = dict(self.history.records("iterations")[0],
                     trials={"finished": 5, "running": 0, "failed": 0, "killed": 1})
        self.history = support.history_of(state, iterations=[first], learnings=self.history.records("learnings"),
                                          ledger=self.history.records("ledger"))
        return self.step(state, honest, tables=tables)

    def test_a_stop_runs_the_control_with_the_trials_the_search_sweeps_ran(self):
        honest = campaign(repeats=0, control=True, search_space=SPACE, **{"stop_conditions.max_iterations": 2})
        envelope, state = self.stopping(honest)
        self.assertAt(state, "LAUNCH_SWEEP", "request_launch")
        self.assertEqual(len(state["completed_iterations"]), 2, "the iteration is closed before the control")
        envelope, state = self.step(state, honest)
        payload = self.launch(envelope)
        self.assertEqual((payload["sweep_identity"], payload["purpose"]), (CONTROL, "control"))
        # 5 + 1 of iteration 1, 18 + 1 + 1 of iteration 2; interrupted trials did not count against a cap
        self.assertEqual(payload["sweep_config"]["run_cap"], 26)
        self.assertEqual((payload["sweep_config"]["method"], payload["sweep_config"]["parameters"]), ("random", SPACE))
        self.assertEqual((state["current_sweep"]["purpose"], state["current_sweep"]["run_cap"]), ("control", 26))
        self.assertIn(CONTROL, [e["sweep_identity"] for e in state["spend_ledger"]["entries"]])

    def test_without_a_search_space_the_control_searches_the_first_iterations_space(self):
        honest = campaign(repeats=0, control=True, **{"stop_conditions.max_iterations": 2})
        first = table("cifar10-resnet-iter-1", [0.6])
        first["space"]["parameters"] = {"lr": {"min": 0.01, "max": 0.05}}
        tables = {"cifar10-resnet-iter-1": first}
        _, state = self.stopping(honest, tables)
        envelope, _ = self.step(state, honest, tables=tables)
        self.assertEqual(self.launch(envelope)["sweep_config"]["parameters"], {"lr": {"min": 0.01, "max": 0.05}})

    def test_a_control_without_a_known_space_is_skipped_and_said_so(self):
        honest = campaign(repeats=0, control=True, **{"stop_conditions.max_iterations": 2})
        _, state = self.stopping(honest)
        self.assertEqual(state["machine_state"], "COMPLETE")
        self.assertIn("the random-search control did not run: the first iteration's space is unknown",
                      state["terminal"]["reason"])

    def test_no_control_when_the_budget_is_spent(self):
        honest = campaign(repeats=0, control=True, search_space=SPACE, **{"compute.max_budget_usd": 0.77})
        _, state = self.stopping(honest)
        self.assertEqual(state["machine_state"], "COMPLETE")
        self.assertIn("budget", state["terminal"]["resume"]["limits"])
        self.assertIn("the random-search control did not run: no budget is left for it", state["terminal"]["reason"])

    def test_the_controls_end_is_recorded_and_the_campaign_stops_without_running_it_again(self):
        honest = campaign(repeats=0, control=True, search_space=SPACE, **{"stop_conditions.max_iterations": 2})
        _, state = self.stopping(honest)
        envelope, state = self.step(state, honest)
        launch_id = envelope["directives"][0]["directive_id"]
        _, state = self.step(state, honest, {launch_id: executor_result(
            "launch-fresh", launch_id, sweep_identity=CONTROL, sweep_id="local-control", run_cap=26)})
        envelope, state = self.step(state, honest)  # request_poll
        poll_id = envelope["directives"][0]["directive_id"]
        best = {"run_id": "control-t3", "run_url": None, "metric_value": 0.59, "config": {"lr": 0.02, "batch_size": 64}}
        _, state = self.step(state, honest, {poll_id: executor_result(
            "poll-finished", poll_id, sweep_identity=CONTROL, sweep_id="local-control", best_run=best,
            trials={"finished": 26, "running": 0, "failed": 0, "killed": 0},
            spend={"sweep_spend_usd": 0.3, "complete": True, "sources": [{"name": "wall-clock", "ok": True, "usd": 0.3}]})})
        self.assertAt(state, "ROLL_ITERATION", "roll_iteration")
        control = state["control"]
        self.assertEqual((control["sweep_identity"], control["trial_budget"], control["best_run"], control["space_source"]),
                         (CONTROL, 26, best, "search_space"))
        self.assertAlmostEqual(state["spend_ledger"]["total_usd"], 0.77 + 0.3, msg="the control counts against the cap")
        _, state = self.step(state, honest)
        self.assertEqual(state["machine_state"], "COMPLETE")
        self.assertEqual(len(state["completed_iterations"]), 2, "the iteration is counted once")
        self.assertIn("random-search control: 26 of 26 trials finished, best 0.59", state["terminal"]["reason"])
        self.assertEqual(state["terminal"]["resume"]["limits"], ["max_iterations"])

    def test_no_control_when_it_is_off(self):
        _, state = self.stopping(campaign(repeats=0, control=False, search_space=SPACE,
                                          **{"stop_conditions.max_iterations": 2}))
        self.assertEqual(state["machine_state"], "COMPLETE")
        self.assertNotIn("control", state["terminal"]["reason"])


if __name__ == "__main__":
    unittest.main()
