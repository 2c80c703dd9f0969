"""metaopt-remote-execution-control: every phase of LOCAL_SANITY, LAUNCH_SWEEP, WAIT_FOR_SWEEP and
ANALYZE and each of its outcomes. Every envelope is validated against its state and applied with the
engine, which proves the next state is valid."""
import copy
import json
import unittest

import support

from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract import validation
from metaopt_lib.contract.clock import add_seconds
from metaopt_lib.contract.sweep_space import representative_point, swept_keys
from metaopt_lib.handoffs import remote_execution
from metaopt_lib.handoffs.common import Inputs, ResultInput
from metaopt_lib.handoffs.remote_sweep import MAX_POLL_ATTEMPTS, POLL_INTERVAL_SECONDS

NOW = "2026-11-22T12:10:00Z"
IDENTITY = "cifar10-resnet-iter-2"
# The history of every iteration-2 state fixture: iteration 1's record, learning and spend entry.
HISTORY = support.fixture_history("wait-for-sweep")


def load_state(name, **changes):
    state = json.loads((support.FIXTURES / "state" / "valid" / f"{name}.json").read_text(encoding="utf-8"))
    state.update(copy.deepcopy(changes))
    return state


def load_campaign(name="full-local", **changes):
    """The campaign with defaults applied; changes are dotted paths, e.g. {"compute.run_cap": 5}."""
    return support.fixture_campaign(name, **changes)


def executor_result(fixture, directive_id, details=None, **top):
    document = json.loads((support.FIXTURES / "executor-result" / "valid" / f"{fixture}.json").read_text())
    document["directive_id"] = directive_id
    document.update(top)
    document["details"].update(details or {})
    return landed("executor-result", document)


def landed(kind, document, context=None):
    """A result file as the driver hands it over: the document and its validation issues."""
    issues = validation.validate_document(kind, document, "result.json", context)
    return ResultInput(exists=True, document=document, issues=tuple(issues))


def smoke_state(phase="gate_smoke_test", attempt=1):
    """LOCAL_SANITY of iteration 2; in gate_smoke_test the smoke test smoke-2-1 is pending."""
    if phase == "request_smoke_test":
        return load_state("local-sanity", phase=phase, pending=[])
    state = load_state("local-sanity", phase=phase)
    state["pending"][0]["attempt"] = attempt
    return state


def launch_state(phase="confirm_launch", attempt=1):
    """LAUNCH_SWEEP of iteration 2 (0.35 of 10 USD spent); in confirm_launch launch-2-1 is pending."""
    if phase == "request_launch":
        return load_state("local-sanity", machine_state="LAUNCH_SWEEP", phase=phase, pending=[])
    state = load_state("launch-sweep")
    state["pending"][0]["attempt"] = attempt
    return state


def poll_state(phase="gate_poll", **sweep_changes):
    """WAIT_FOR_SWEEP of iteration 2 (0.55 of 10 USD spent); in gate_poll poll-2-2 is pending."""
    state = load_state("wait-for-sweep", phase=phase)
    if phase == "request_poll":
        state["pending"] = []
    state["current_sweep"].update(sweep_changes)
    return state


def analysis_state(phase="finalize_analysis", attempt=1):
    """ANALYZE of iteration 2 (best 0.574, baseline 0.612); in finalize_analysis analysis-2-1 is pending."""
    state = load_state("analyze", phase=phase)
    if phase == "plan_analysis":
        state["pending"] = []
    else:
        state["pending"][0]["attempt"] = attempt
    return state


class HandoffCase(unittest.TestCase):
    maxDiff = None

    def step(self, state, campaign=None, results=None, now=NOW, campaign_issues=(), history=None):
        """Run the handoff, check its envelope against the state, apply it; returns (envelope, next state
        with its history inline: every ledger entry, earlier iterations' first)."""
        campaign = load_campaign() if campaign is None else campaign
        campaign = None if campaign is False else campaign
        history = HISTORY if history is None else history
        state = support.hot_state(state)  # a state an earlier step returned
        envelope = remote_execution.handoff(state, campaign, Inputs(now=now, results=results or {},
                                                                    campaign_issues=campaign_issues, history=history))
        issues = validation.validate_document("handoff-envelope", envelope, "envelope", validation.Context(state=state))
        self.assertEqual([i.message for i in issues], [])
        return envelope, support.applied_view(state, history, envelope, now)[0]

    def directives(self, envelope, directive_type):
        return [d for d in envelope["directives"] if d["type"] == directive_type]

    def assertMoved(self, envelope, new_state, machine_state, phase, outcome="advance"):
        self.assertEqual((envelope["outcome"], new_state["machine_state"], new_state["phase"]),
                         (outcome, machine_state, phase))

    def assertResolved(self, envelope, pending_id, disposition):
        self.assertIn({"id": pending_id, "disposition": disposition}, envelope["resolved_pending"])

    def assertTornDown(self, envelope, identity=IDENTITY):
        self.assertEqual([d["payload"]["sweep_identity"] for d in self.directives(envelope, "teardown")], [identity])


class LocalSanity(HandoffCase):
    def test_request_smoke_test_runs_the_campaign_command_for_60_seconds(self):
        envelope, new = self.step(smoke_state("request_smoke_test"))
        campaign = load_campaign()
        [directive] = envelope["directives"]
        self.assertEqual(directive["type"], "run_smoke_test")
        config = smoke_state()["selected_sweep"]["sweep_config"]
        self.assertEqual(directive["payload"], {
            "command": campaign["project"]["smoke_test_command"], "working_dir": ".", "timeout_seconds": 60,
            "max_output_lines": 40, "program": campaign["project"]["program"], "sweep_command": config.get("command"),
            "params": representative_point(config["parameters"]), "metric": "val_loss",
            "swept": swept_keys(config["parameters"])})
        self.assertEqual(set(directive["payload"]["params"]), set(config["parameters"]))
        self.assertMoved(envelope, new, "LOCAL_SANITY", "gate_smoke_test")
        self.assertEqual([p["id"] for p in new["pending"]], [directive["directive_id"]])

    def test_gate_waits_for_a_missing_result(self):
        envelope, new = self.step(smoke_state())
        self.assertMoved(envelope, new, "LOCAL_SANITY", "gate_smoke_test", "wait")
        self.assertEqual(envelope["wait"]["pending_ids"], ["smoke-2-1"])
        self.assertIsNone(envelope["wait"]["until"])
        self.assertEqual(new["pending"], smoke_state()["pending"])

    def test_smoke_test_pass_goes_to_launch(self):
        for fixture in ("smoke-test-passed-exit-zero", "smoke-test-passed-by-timeout"):
            with self.subTest(fixture=fixture):
                envelope, new = self.step(smoke_state(), results={"smoke-2-1": executor_result(fixture, "smoke-2-1")})
                self.assertResolved(envelope, "smoke-2-1", "consumed")
                self.assertMoved(envelope, new, "LAUNCH_SWEEP", "request_launch")
                self.assertEqual(new["pending"], [])

    def test_failing_or_crashing_smoke_test_blocks_config_without_any_launch(self):
        crash = {"status": "failed", "error": {"code": "spawn-failed", "message": "python: not found",
                                               "retryable": False}}
        cases = {
            "nonzero exit": ({}, {}, ["exit", "code 1", "No module named 'timm'"]),
            "killed by a signal": ({"exit_code": -9, "stderr_tail": ["Killed"], "failure":
                                    "the smoke test was killed by signal 9"}, {}, ["signal 9", "Killed"]),
            "exit 0 without the metric": ({"exit_code": 0, "metric_logged": False, "failure":
                                          "the smoke test exited 0 without logging the objective metric"},
                                          {}, ["without logging the objective metric"]),
            "executor could not run it": ({}, crash, ["spawn-failed", "No module named 'timm'"]),
        }
        for name, (details, top, words) in cases.items():
            with self.subTest(case=name):
                result = executor_result("smoke-test-failed-nonzero-exit", "smoke-2-1", details, **top)
                self.assertTrue(result.valid, result.issues)
                envelope, new = self.step(smoke_state(), results={"smoke-2-1": result})
                self.assertResolved(envelope, "smoke-2-1", "consumed")
                self.assertMoved(envelope, new, "BLOCKED_CONFIG", "stopped", "blocked")
                self.assertEqual((new["block"]["code"], new["block"]["resume_state"], new["block"]["resume_phase"]),
                                 ("smoke-test-failed", "LOCAL_SANITY", "request_smoke_test"))
                self.assertIn("metaopt.py resume", new["block"]["fix"])
                self.assertEqual(new["selected_sweep"], smoke_state()["selected_sweep"], "the selection is kept")
                for word in words:
                    self.assertIn(word, new["terminal"]["reason"])
                self.assertEqual(self.directives(envelope, "launch_sweep"), [])
                self.assertFalse(any(p["name"] == "launch_sweep" for p in new["pending"]))
                self.assertIsNone(new["current_sweep"])
                self.assertEqual(support.hot_state(new)["spend_ledger"], smoke_state()["spend_ledger"])

    def test_swept_parameters_the_program_never_reads_send_the_sweep_back_to_selection(self):
        from metaopt_lib.handoffs import select_and_design

        campaign = load_campaign()
        passed = executor_result("smoke-test-passed-exit-zero", "smoke-2-1", {"unread_keys": ["momentum"]})
        self.assertTrue(passed.valid, passed.issues)
        envelope, new = self.step(smoke_state(), results={"smoke-2-1": passed})
        self.assertMoved(envelope, new, "SELECT_AND_DESIGN_SWEEP", "plan_selection")
        self.assertIn("sweep.parameter_not_read", envelope["summary"])
        self.assertEqual(new["sanity"], {"iteration": 2, "proposal_id": new["selected_sweep"]["proposal_id"],
                                         "unread_keys": ["momentum"], "rejections": 1})
        self.assertEqual(self.directives(envelope, "launch_sweep"), [])
        # Selection asks again, saying which parameter the program never reads.
        envelope = select_and_design.handoff(new, campaign, Inputs(now=NOW))
        [task] = [w["task"] for w in envelope["worker_launches"]]
        self.assertEqual(task["attempt"], 2)
        self.assertEqual([(e["rule"], e["path"]) for e in task["previous_errors"]],
                         [("sweep.parameter_not_read", "$.sweep_config.parameters.momentum")])
        # The last round an iteration allows blocks instead, resuming at selection.
        again = dict(new, machine_state="LOCAL_SANITY", phase="gate_smoke_test", pending=smoke_state()["pending"],
                     sanity=dict(new["sanity"], rejections=campaign["proposal_policy"]["max_worker_attempts"] - 1))
        envelope, blocked = self.step(again, results={"smoke-2-1": passed})
        self.assertMoved(envelope, blocked, "BLOCKED_CONFIG", "stopped", "blocked")
        self.assertEqual((blocked["block"]["code"], blocked["block"]["resume_state"]),
                         ("parameters-not-read", "SELECT_AND_DESIGN_SWEEP"))
        self.assertIn("momentum", blocked["block"]["reason"])
        # A smoke test that passes with every swept parameter read clears the record and launches.
        clean = executor_result("smoke-test-passed-exit-zero", "smoke-2-1", {"unread_keys": []})
        envelope, launched = self.step(dict(again, sanity=new["sanity"]), results={"smoke-2-1": clean})
        self.assertMoved(envelope, launched, "LAUNCH_SWEEP", "request_launch")
        self.assertIsNone(launched["sanity"])

    def test_invalid_result_is_rejected_and_the_smoke_test_rerun(self):
        bad_schema = landed("executor-result", {"schema_version": 1, "directive_id": "smoke-2-1"})
        wrong_id = executor_result("smoke-test-passed-exit-zero", "smoke-9-9")
        for name, result in (("schema-invalid", bad_schema), ("answers another directive", wrong_id)):
            with self.subTest(case=name):
                envelope, new = self.step(smoke_state(), results={"smoke-2-1": result})
                self.assertResolved(envelope, "smoke-2-1", "rejected")
                [directive] = self.directives(envelope, "run_smoke_test")
                self.assertNotEqual(directive["directive_id"], "smoke-2-1")
                self.assertMoved(envelope, new, "LOCAL_SANITY", "gate_smoke_test", "retry")
                self.assertEqual(envelope["retry"]["attempt"], 1)

    def test_invalid_result_on_the_last_attempt_blocks(self):
        result = landed("executor-result", {"schema_version": 1})
        envelope, new = self.step(smoke_state(attempt=3), results={"smoke-2-1": result})
        self.assertMoved(envelope, new, "BLOCKED_PROTOCOL", "stopped", "blocked")
        self.assertEqual((new["block"]["code"], new["block"]["resume_state"], new["block"]["resume_phase"]),
                         ("executor-result-invalid", "LOCAL_SANITY", "request_smoke_test"))
        self.assertEqual(self.directives(envelope, "run_smoke_test"), [])


class LaunchSweep(HandoffCase):
    def test_request_launch_records_the_intent_before_the_launch(self):
        state = launch_state("request_launch")
        envelope, new = self.step(state)
        [directive] = envelope["directives"]
        self.assertEqual(directive["type"], "launch_sweep")
        sweep = new["current_sweep"]
        self.assertEqual((sweep["sweep_identity"], sweep["status"], sweep["resources_live"], sweep["sweep_id"]),
                         (IDENTITY, "launching", True, None))
        self.assertEqual(sweep["trials"], {"finished": 0, "running": 0, "failed": 0, "killed": 0, "interrupted": 0})
        self.assertIn({"sweep_identity": IDENTITY, "iteration": 2, "usd": 0, "complete": True, "updated_at": NOW},
                      new["spend_ledger"]["entries"])
        self.assertEqual(new["spend_ledger"]["total_usd"], 0.35)
        payload = directive["payload"]
        self.assertEqual(payload["sweep_identity"], IDENTITY)
        self.assertEqual(payload["sweep_config"], state["selected_sweep"]["sweep_config"])
        self.assertEqual(payload["sweep_config"]["run_cap"], 20)
        self.assertEqual((payload["backend"], payload["num_agents"], payload["idle_timeout_minutes"]), ("local", 2, 15))
        self.assertEqual(payload["budget"], {"max_budget_usd": 10, "spent_usd": 0.35, "remaining_usd": 9.65})
        self.assertEqual(payload["wandb"], {"entity": "ml-lab", "project": "cifar10-resnet"})
        self.assertEqual(payload["local"], {"hourly_cost_usd": 0.5, "max_wall_clock_minutes": 120, "repo": "."})
        self.assertMoved(envelope, new, "LAUNCH_SWEEP", "confirm_launch")

    def test_sweep_identity_is_deterministic_and_the_ledger_entry_is_opened_once(self):
        state = launch_state("request_launch")
        first, _ = self.step(state)
        again, _ = self.step(state)
        self.assertEqual(first, again)
        state["spend_ledger"]["entries"].append({"sweep_identity": IDENTITY, "iteration": 2, "usd": 0.1,
                                                 "complete": True, "updated_at": "2026-11-22T11:00:00Z"})
        # launch_state's ledger: iteration 1's 0.35 closed, no entry of iteration 2 yet
        state["spend_ledger"]["total_usd"] = 0.45
        envelope, new = self.step(state)
        self.assertEqual([e["sweep_identity"] for e in new["spend_ledger"]["entries"]],
                         ["cifar10-resnet-iter-1", IDENTITY])
        self.assertEqual(new["spend_ledger"]["entries"][1]["usd"], 0.1)
        self.assertEqual(envelope["directives"][0]["payload"]["sweep_identity"], IDENTITY)

    def test_skypilot_launch_carries_the_cloud_settings_from_the_campaign(self):
        sky = {"provider": "vast_ai", "accelerator": "RTX4090:1", "max_hourly_cost_usd": 0.6, "disk_size_gb": 200}
        cases = {
            "required only": ({}, {}),
            "image and setup": ({"image_id": "docker:pytorch/pytorch", "setup": "pip install -r requirements.txt"},
                                {"image_id": "docker:pytorch/pytorch", "setup": "pip install -r requirements.txt"}),
        }
        for name, (extra, expected_extra) in cases.items():
            with self.subTest(case=name):
                campaign = load_campaign(**{"compute.backend": "skypilot", "compute.skypilot": dict(sky, **extra)})
                envelope, new = self.step(launch_state("request_launch"), campaign)
                payload = envelope["directives"][0]["payload"]
                self.assertEqual(payload["skypilot"], dict(sky, repo=".", **expected_extra))
                self.assertNotIn("local", payload)
                self.assertEqual(new["current_sweep"]["backend"], "skypilot")

    def test_launch_is_refused_when_the_budget_cannot_pay_for_it(self):
        sky = {"provider": "vast_ai", "accelerator": "RTX4090:1", "max_hourly_cost_usd": 0.6, "disk_size_gb": 200}
        skypilot = {"compute.backend": "skypilot", "compute.skypilot": sky, "compute.num_sweep_agents": 4}
        # spent is 0.35; local reserves hourly * min(1, wall clock / 60); skypilot 0.6 * 4 agents * 1 h.
        cases = {
            "local hour above remaining": ({"compute.local.hourly_cost_usd": 20}, False),
            "lowered cap": ({"compute.max_budget_usd": 0.6}, False),
            "cap already spent, free machine": ({"compute.max_budget_usd": 0.35,
                                                 "compute.local.hourly_cost_usd": 0}, False),
            "cap below spend": ({"compute.max_budget_usd": 0.2, "compute.local.hourly_cost_usd": 0}, False),
            "skypilot first hour of all agents too dear": (dict(skypilot, **{"compute.max_budget_usd": 2.5}), False),
            "skypilot first hour affordable": (dict(skypilot, **{"compute.max_budget_usd": 3}), True),
            "short wall clock reserves part of an hour": ({"compute.max_budget_usd": 0.6,
                                                           "compute.local.max_wall_clock_minutes": 30}, True),
            "free local machine": ({"compute.max_budget_usd": 0.4, "compute.local.hourly_cost_usd": 0}, True),
        }
        for name, (changes, launches) in cases.items():
            with self.subTest(case=name):
                campaign = load_campaign(**changes)
                envelope, new = self.step(launch_state("request_launch"), campaign)
                self.assertEqual(new["spend_ledger"]["max_budget_usd"], campaign["compute"]["max_budget_usd"])
                if launches:
                    self.assertMoved(envelope, new, "LAUNCH_SWEEP", "confirm_launch")
                    continue
                self.assertMoved(envelope, new, "COMPLETE", "stopped")
                self.assertIn("Budget cannot pay for the launch", new["terminal"]["reason"])
                self.assertEqual(self.directives(envelope, "launch_sweep"), [])
                self.assertIsNone(new["current_sweep"])

    def test_a_raised_budget_takes_effect_at_launch(self):
        envelope, new = self.step(launch_state("request_launch"), load_campaign(**{"compute.max_budget_usd": 20}))
        self.assertEqual(envelope["directives"][0]["payload"]["budget"],
                         {"max_budget_usd": 20, "spent_usd": 0.35, "remaining_usd": 19.65})
        self.assertEqual(new["spend_ledger"]["max_budget_usd"], 20)

    def test_confirm_waits_for_a_missing_launch_result(self):
        envelope, new = self.step(launch_state())
        self.assertMoved(envelope, new, "LAUNCH_SWEEP", "confirm_launch", "wait")
        self.assertEqual(envelope["wait"]["pending_ids"], ["launch-2-1"])

    def test_confirm_records_a_fresh_or_reconnected_launch(self):
        reconnect = {"sweep_identity": IDENTITY, "backend": "local", "sweep_url": None}
        for fixture, details in (("launch-fresh", {}), ("launch-reconnected", reconnect)):
            with self.subTest(fixture=fixture):
                result = executor_result(fixture, "launch-2-1", details)
                envelope, new = self.step(launch_state(), results={"launch-2-1": result})
                self.assertResolved(envelope, "launch-2-1", "consumed")
                self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "request_poll")
                sweep, launched = new["current_sweep"], result.document["details"]
                self.assertEqual((sweep["sweep_id"], sweep["sweep_url"], sweep["status"], sweep["launched_at"],
                                  sweep["resources_live"]),
                                 (launched["sweep_id"], None, "running", launched["launched_at"], True))
                self.assertIn(IDENTITY, [e["sweep_identity"] for e in new["spend_ledger"]["entries"]])
                self.assertEqual(self.directives(envelope, "launch_sweep"), [])

    def test_retryable_or_invalid_launch_result_relaunches_the_same_identity(self):
        failed = {"status": "failed", "error": {"code": "vast-api-timeout", "message": "timed out",
                                                "retryable": True}}
        cases = {
            "retryable failure": executor_result("launch-fresh", "launch-2-1", {"sweep_id": None}, **failed),
            "schema-invalid": landed("executor-result", {"directive_id": "launch-2-1"}),
            "result for another sweep": executor_result("launch-fresh", "launch-2-1",
                                                        {"sweep_identity": "cifar10-resnet-iter-1"}),
        }
        for name, result in cases.items():
            with self.subTest(case=name):
                envelope, new = self.step(launch_state(), results={"launch-2-1": result})
                self.assertResolved(envelope, "launch-2-1", "rejected")
                [directive] = self.directives(envelope, "launch_sweep")
                self.assertNotEqual(directive["directive_id"], "launch-2-1")
                self.assertEqual(directive["payload"]["sweep_identity"], IDENTITY)
                self.assertEqual(directive["payload"]["sweep_config"]["run_cap"], 20)
                self.assertMoved(envelope, new, "LAUNCH_SWEEP", "confirm_launch", "retry")
                self.assertEqual(new["current_sweep"]["status"], "launching")

    def test_launch_that_fails_for_good_ends_failed_with_teardown(self):
        retryable = {"status": "failed", "error": {"code": "vast-api-timeout", "message": "timed out",
                                                   "retryable": True}}
        final = {"status": "failed", "error": {"code": "no-offers", "message": "no machine under the price cap",
                                               "retryable": False}}
        cases = {"retryable on the last attempt": (3, retryable), "not retryable": (1, final)}
        for name, (attempt, top) in cases.items():
            with self.subTest(case=name):
                result = executor_result("launch-fresh", "launch-2-1", {"sweep_id": None}, **top)
                envelope, new = self.step(launch_state(attempt=attempt), results={"launch-2-1": result})
                self.assertMoved(envelope, new, "FAILED", "stopped")
                self.assertIn(top["error"]["code"], new["terminal"]["reason"])
                self.assertEqual(self.directives(envelope, "launch_sweep"), [])
                self.assertTornDown(envelope)

    def test_a_relaunch_is_refused_when_the_budget_no_longer_pays(self):
        failed = {"status": "failed", "error": {"code": "vast-api-timeout", "message": "timed out",
                                                "retryable": True}}
        result = executor_result("launch-fresh", "launch-2-1", {"sweep_id": None}, **failed)
        envelope, new = self.step(launch_state(), load_campaign(**{"compute.max_budget_usd": 0.4}),
                                  results={"launch-2-1": result})
        self.assertMoved(envelope, new, "COMPLETE", "stopped")
        self.assertEqual(self.directives(envelope, "launch_sweep"), [])
        self.assertTornDown(envelope)



class DirectiveAttempts(HandoffCase):
    """The bound on re-issued directives reads pending[].attempt, so the engine must carry it."""

    def test_a_reissued_directive_is_recorded_as_the_next_attempt(self):
        failed = {"status": "failed", "error": {"code": "transient", "message": "try again", "retryable": True}}
        _, torn = self.step(poll_state(), results={"poll-2-2": executor_result(
            "poll-finished", "poll-2-2", {"resources_live": True})})
        teardown_id = torn["pending"][0]["id"]
        cases = {
            "smoke test": (smoke_state(), {"smoke-2-1": landed("executor-result", {"directive_id": "smoke-2-1"})}),
            "launch": (launch_state(), {"launch-2-1": executor_result("launch-fresh", "launch-2-1",
                                                                      {"sweep_id": None}, **failed)}),
            "teardown": (torn, {teardown_id: executor_result("teardown-failed-resources-remain", teardown_id,
                                                             {"sweep_identity": IDENTITY}, **failed)}),
        }
        for name, (state, results) in cases.items():
            with self.subTest(directive=name):
                _, new = self.step(state, results=results)
                self.assertEqual([p["attempt"] for p in new["pending"]], [2])


class RequestPoll(HandoffCase):
    def test_poll_waits_for_the_interval_with_backoff_after_errors(self):
        # A local poll waited for the sweep's end itself (max_wait_seconds), so the next one is due at
        # once. A cloud poll answers at once, so polls are spaced by half the trials' length or half the
        # idle timeout (15 min here), whichever is shorter, within 30 s to 5 min. Failures back off.
        last = "2026-11-22T11:30:00Z"
        # backend, failures, median trial seconds, seconds until the next poll is due
        cases = [("skypilot", 0, None, 300), ("skypilot", 0, 100.0, 50), ("skypilot", 0, 20.0, 30),
                 ("skypilot", 0, 3000.0, 300), ("skypilot", 2, 100.0, POLL_INTERVAL_SECONDS * 4),
                 ("local", 0, 100.0, 0), ("local", 2, None, POLL_INTERVAL_SECONDS * 4)]
        for backend, failures, trial_seconds, interval in cases:
            for offset in sorted({max(0, interval - 1), interval}):
                with self.subTest(backend=backend, failures=failures, trial_seconds=trial_seconds, after=offset):
                    state = poll_state("request_poll", last_poll_at=last, poll_failures=failures, backend=backend,
                                       trial_seconds=trial_seconds)
                    envelope, new = self.step(state, now=add_seconds(last, offset))
                    if offset < interval:
                        self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "request_poll", "wait")
                        self.assertEqual(envelope["wait"]["until"], add_seconds(last, interval))
                        self.assertEqual(envelope["directives"], [])
                    else:
                        [directive] = self.directives(envelope, "poll_sweep")
                        self.assertEqual(directive["payload"]["poll_attempt"], failures + 1)
                        self.assertEqual(directive["payload"]["max_wait_seconds"],
                                         POLL_INTERVAL_SECONDS if backend == "local" else 0)

    def test_every_poll_carries_the_remaining_budget_with_the_campaigns_cap(self):
        cases = {"campaign cap": (10, 9.45), "raised cap": (20, 19.45)}
        for name, (cap, remaining) in cases.items():
            with self.subTest(case=name):
                state = poll_state("request_poll", last_poll_at=None)
                [ledger_usd] = [e["usd"] for e in state["spend_ledger"]["entries"] if e["sweep_identity"] == IDENTITY]
                envelope, new = self.step(state, load_campaign(**{"compute.max_budget_usd": cap}))
                [directive] = envelope["directives"]
                self.assertEqual(directive["payload"], {
                    "sweep_identity": IDENTITY, "sweep_id": "local-7f3a9c", "backend": "local",
                    "idle_timeout_minutes": 15,
                    "budget": {"max_budget_usd": cap, "spent_usd": 0.55, "remaining_usd": remaining},
                    "recorded_sweep_spend_usd": ledger_usd,
                    "objective": {"metric": "val_loss", "direction": "minimize", "improvement_threshold": 0.005},
                    "poll_attempt": 1, "max_wait_seconds": POLL_INTERVAL_SECONDS})
                self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "gate_poll")
                self.assertEqual(new["spend_ledger"]["max_budget_usd"], cap)

    def test_no_poll_once_the_budget_is_spent(self):
        envelope, new = self.step(poll_state("request_poll"), load_campaign(**{"compute.max_budget_usd": 0.5}))
        self.assertMoved(envelope, new, "COMPLETE", "stopped")
        self.assertIn("Budget exhausted", new["terminal"]["reason"])
        self.assertEqual(self.directives(envelope, "poll_sweep"), [])
        self.assertTornDown(envelope)


class GatePoll(HandoffCase):
    def poll(self, fixture="poll-running", details=None, **top):
        base = {"sweep_identity": IDENTITY, "sweep_id": "local-7f3a9c"}
        return {"poll-2-2": executor_result(fixture, "poll-2-2", dict(base, **(details or {})), **top)}

    def test_waits_for_a_missing_poll_result(self):
        envelope, new = self.step(poll_state())
        self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "gate_poll", "wait")
        self.assertEqual(envelope["wait"]["pending_ids"], ["poll-2-2"])

    def test_a_poll_of_another_sweep_is_rejected_not_consumed(self):
        for name, details in (("other identity", {"sweep_identity": "cifar10-resnet-iter-9"}),
                              ("other sweep id", {"sweep_id": "local-0000aa"})):
            with self.subTest(name):
                state = poll_state()
                envelope, new = self.step(state, results=self.poll(details=details))
                self.assertResolved(envelope, "poll-2-2", "rejected")
                self.assertEqual(envelope["outcome"], "retry")
                self.assertEqual(support.hot_state(new)["spend_ledger"], state["spend_ledger"])
                self.assertEqual(new["current_sweep"]["poll_failures"], state["current_sweep"]["poll_failures"] + 1)
                self.assertIn("poll result is for", envelope["retry"]["reason"])

    def test_a_running_sweep_updates_the_record_and_the_ledger_then_polls_again(self):
        results = self.poll()
        envelope, new = self.step(poll_state(), results=results)
        self.assertResolved(envelope, "poll-2-2", "consumed")
        self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "request_poll")
        details, sweep = results["poll-2-2"].document["details"], new["current_sweep"]
        self.assertEqual((sweep["status"], sweep["trials"], sweep["best_run"], sweep["last_poll_at"],
                          sweep["poll_failures"], sweep["resources_live"]),
                         ("running", details["trials"], details["best_run"], details["polled_at"], 0, True))
        self.assertEqual([(e["sweep_identity"], e["usd"]) for e in new["spend_ledger"]["entries"]],
                         [("cifar10-resnet-iter-1", 0.35), (IDENTITY, 0.26)])
        self.assertEqual(new["spend_ledger"]["total_usd"], 0.61)

    def test_a_successful_poll_resets_the_failure_count(self):
        envelope, new = self.step(poll_state(poll_failures=3), results=self.poll())
        self.assertEqual(new["current_sweep"]["poll_failures"], 0)

    def test_the_ledger_is_campaign_wide_and_never_lowered(self):
        spend = {"sweep_spend_usd": 0.1, "complete": True, "sources": [{"name": "wall-clock", "ok": True, "usd": 0.1}]}
        budget = {"max_budget_usd": 10, "spent_usd": 0.45, "remaining_usd": 9.55}
        envelope, new = self.step(poll_state(), results=self.poll(details={"spend": spend, "budget": budget}))
        self.assertEqual([e["usd"] for e in new["spend_ledger"]["entries"]], [0.35, 0.2])
        self.assertEqual(new["spend_ledger"]["total_usd"], 0.55)

    def test_a_missing_ledger_entry_is_opened_by_the_poll(self):
        state = poll_state()
        state["spend_ledger"] = {"max_budget_usd": 10, "total_usd": 0.35, "closed_usd": 0.35, "entries": []}
        _, new = self.step(state, results=self.poll())
        self.assertEqual(new["spend_ledger"]["entries"][1]["sweep_identity"], IDENTITY)
        self.assertEqual(new["spend_ledger"]["total_usd"], 0.61)

    def test_budget_exhaustion_completes_and_tears_down(self):
        cases = {
            "executor stopped the sweep": (self.poll("poll-budget-exceeded"), load_campaign()),
            "ledger reached a lowered cap": (self.poll(), load_campaign(**{"compute.max_budget_usd": 0.6})),
        }
        for name, (results, campaign) in cases.items():
            with self.subTest(case=name):
                envelope, new = self.step(poll_state(), campaign, results=results)
                self.assertMoved(envelope, new, "COMPLETE", "stopped")
                self.assertIn("Budget exhausted", new["terminal"]["reason"])
                self.assertTornDown(envelope)
                self.assertEqual(new["spend_ledger"]["total_usd"], round(
                    0.35 + results["poll-2-2"].document["details"]["spend"]["sweep_spend_usd"], 6))

    def test_a_failed_sweep_fails_the_campaign_with_teardown(self):
        details = {"sweep_status": "failed", "stop_reason": "failed", "resources_live": True}
        envelope, new = self.step(poll_state(), results=self.poll("poll-running", details))
        self.assertMoved(envelope, new, "FAILED", "stopped")
        self.assertTornDown(envelope)

    def test_a_finished_sweep_without_live_resources_goes_to_analysis(self):
        for status in ("finished", "canceled"):
            with self.subTest(status=status):
                details = {"sweep_status": status, "stop_reason": "run_cap" if status == "finished" else "canceled"}
                envelope, new = self.step(poll_state(), results=self.poll("poll-finished", details))
                self.assertMoved(envelope, new, "ANALYZE", "plan_analysis")
                self.assertEqual(new["current_sweep"]["status"], status)
                self.assertEqual(self.directives(envelope, "teardown"), [])

    def test_a_finished_sweep_with_live_resources_is_torn_down_before_analysis(self):
        results = self.poll("poll-finished", {"resources_live": True})
        envelope, state = self.step(poll_state(), results=results)
        self.assertMoved(envelope, state, "WAIT_FOR_SWEEP", "gate_poll")
        [teardown] = self.directives(envelope, "teardown")
        teardown_id = teardown["directive_id"]
        teardown_details = {"sweep_identity": IDENTITY}

        envelope, waiting = self.step(state)
        self.assertMoved(envelope, waiting, "WAIT_FOR_SWEEP", "gate_poll", "wait")
        self.assertEqual(envelope["wait"]["pending_ids"], [teardown_id])

        failed = {"status": "failed", "error": {"code": "teardown-incomplete", "message": "sky down timed out",
                                                "retryable": True}}
        retried, again = self.step(state, results={teardown_id: executor_result(
            "teardown-failed-resources-remain", teardown_id, teardown_details, **failed)})
        self.assertResolved(retried, teardown_id, "rejected")
        self.assertMoved(retried, again, "WAIT_FOR_SWEEP", "gate_poll", "retry")
        self.assertEqual(len(self.directives(retried, "teardown")), 1)

        envelope, done = self.step(state, results={teardown_id: executor_result("teardown-ok", teardown_id,
                                                                                teardown_details)})
        self.assertResolved(envelope, teardown_id, "consumed")
        self.assertMoved(envelope, done, "ANALYZE", "plan_analysis")
        self.assertFalse(done["current_sweep"]["resources_live"])

    def test_a_landed_teardown_is_settled_while_the_poll_is_still_pending(self):
        state = poll_state()
        state["pending"].append(dict(state["pending"][0], id="teardown-2-3", name="teardown",
                                     spec_path=".ml-metaopt/directives/iter-2/teardown-2-3.json",
                                     result_path=".ml-metaopt/results/iter-2/teardown-2-3.json"))
        result = executor_result("teardown-ok", "teardown-2-3", {"sweep_identity": IDENTITY})
        envelope, new = self.step(state, results={"teardown-2-3": result})
        self.assertResolved(envelope, "teardown-2-3", "consumed")
        self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "gate_poll")
        self.assertEqual([p["id"] for p in new["pending"]], ["poll-2-2"])

    def test_a_teardown_that_keeps_failing_blocks_and_still_tears_down(self):
        results = self.poll("poll-finished", {"resources_live": True})
        _, state = self.step(poll_state(), results=results)
        record = state["pending"][0]
        record["attempt"] = 3
        failed = {"status": "failed", "error": {"code": "teardown-incomplete", "message": "sky down timed out",
                                                "retryable": True}}
        envelope, new = self.step(state, results={record["id"]: executor_result(
            "teardown-failed-resources-remain", record["id"], {"sweep_identity": IDENTITY}, **failed)})
        self.assertMoved(envelope, new, "BLOCKED_PROTOCOL", "stopped", "blocked")
        self.assertEqual((new["block"]["code"], new["block"]["resume_state"], new["block"]["resume_phase"]),
                         ("teardown-failed", "WAIT_FOR_SWEEP", "request_poll"))
        self.assertTornDown(envelope)

    def test_transient_poll_errors_back_off_and_never_read_as_zero_spend(self):
        spend_failed = {"status": "failed", "error": {"code": "spend-listing-failed", "message": "vastai timed out",
                                                      "retryable": True}}
        incomplete = {"sweep_spend_usd": 0.1, "complete": False,
                      "sources": [{"name": "wall-clock", "ok": True, "usd": 0.1},
                                  {"name": "vastai-instances", "ok": False, "usd": None}]}
        cases = {
            "incomplete cost listing": self.poll("poll-running", {"spend": incomplete, "idle_killed": []},
                                                 **spend_failed),
            "schema-invalid result": {"poll-2-2": landed("executor-result", {"directive_id": "poll-2-2"})},
            "result for another sweep": self.poll(details={"sweep_identity": "cifar10-resnet-iter-1"}),
        }
        for name, results in cases.items():
            for failures in (0, 2):
                with self.subTest(case=name, earlier_failures=failures):
                    envelope, new = self.step(poll_state(poll_failures=failures), results=results)
                    self.assertResolved(envelope, "poll-2-2", "rejected")
                    self.assertMoved(envelope, new, "WAIT_FOR_SWEEP", "request_poll", "retry")
                    self.assertEqual(envelope["retry"]["attempt"], failures + 1)
                    self.assertEqual(envelope["retry"]["max_attempts"], MAX_POLL_ATTEMPTS)
                    self.assertEqual(envelope["retry"]["retry_after_seconds"],
                                     POLL_INTERVAL_SECONDS * 2 ** (failures + 1))
                    self.assertEqual((new["current_sweep"]["poll_failures"], new["current_sweep"]["last_poll_at"]),
                                     (failures + 1, NOW))
                    self.assertEqual([e["usd"] for e in new["spend_ledger"]["entries"]], [0.35, 0.2])
                    self.assertEqual(new["spend_ledger"]["total_usd"], 0.55)
                    if name == "incomplete cost listing":
                        self.assertFalse(new["spend_ledger"]["entries"][1]["complete"])

    def test_an_incomplete_listing_above_the_ledger_raises_it(self):
        failed = {"status": "failed", "error": {"code": "spend-listing-failed", "message": "vastai timed out",
                                                "retryable": True}}
        incomplete = {"sweep_spend_usd": 0.3, "complete": False,
                      "sources": [{"name": "wall-clock", "ok": True, "usd": 0.3},
                                  {"name": "vastai-instances", "ok": False, "usd": None}]}
        _, new = self.step(poll_state(), results=self.poll(details={"spend": incomplete}, **failed))
        self.assertEqual(new["spend_ledger"]["entries"][1]["usd"], 0.3)
        self.assertEqual(new["spend_ledger"]["total_usd"], 0.65)

    def test_poll_errors_up_to_the_bound_block_with_teardown(self):
        failed = {"status": "failed", "error": {"code": "wandb-unreachable", "message": "503", "retryable": True}}
        envelope, new = self.step(poll_state(poll_failures=MAX_POLL_ATTEMPTS - 1), results=self.poll(**failed))
        self.assertMoved(envelope, new, "BLOCKED_PROTOCOL", "stopped", "blocked")
        self.assertEqual((new["block"]["code"], new["block"]["resume_state"], new["block"]["resume_phase"]),
                         ("poll-attempts-exhausted", "WAIT_FOR_SWEEP", "request_poll"))
        self.assertTornDown(envelope)

    def test_a_non_retryable_poll_error_fails_with_teardown(self):
        failed = {"status": "failed", "error": {"code": "sweep-deleted", "message": "sweep not found",
                                                "retryable": False}}
        envelope, new = self.step(poll_state(), results=self.poll(**failed))
        self.assertMoved(envelope, new, "FAILED", "stopped")
        self.assertIn("sweep-deleted", new["terminal"]["reason"])
        self.assertTornDown(envelope)

    def test_a_transient_error_then_recovery_over_several_steps(self):
        failed = {"status": "failed", "error": {"code": "wandb-unreachable", "message": "503", "retryable": True}}
        _, state = self.step(poll_state(), results=self.poll(**failed))
        envelope, _ = self.step(state, now="2026-11-22T12:11:00Z")
        self.assertEqual(envelope["wait"]["until"], add_seconds(NOW, 2 * POLL_INTERVAL_SECONDS))
        envelope, state = self.step(state, now="2026-11-22T12:12:00Z")
        [poll] = envelope["directives"]
        self.assertEqual(poll["payload"]["poll_attempt"], 2)
        result = executor_result("poll-running", poll["directive_id"], {"sweep_identity": IDENTITY})
        _, state = self.step(state, results={poll["directive_id"]: result}, now="2026-11-22T12:12:30Z")
        self.assertEqual((state["machine_state"], state["phase"], state["current_sweep"]["poll_failures"]),
                         ("WAIT_FOR_SWEEP", "request_poll", 0))


class Analyze(HandoffCase):
    def analysis(self, task_id, improved=True, status="ok", **extra):
        document = {"schema_version": 1, "task_id": task_id, "worker": "metaopt-analysis-worker", "status": status}
        if status == "ok":
            document.update(best_run_explanation="weight decay let a higher lr converge.",
                            learnings=["weight_decay near 4e-4 helps."], improved=improved)
        else:
            document["failure_reason"] = "could not read the sweep"
        document.update(extra)
        return landed("analysis-result", document, validation.Context(task_id=task_id))

    def test_plan_sends_the_final_polls_best_run_and_the_last_learnings(self):
        state = analysis_state("plan_analysis")
        learnings = [{"iteration": 1, "text": f"learning {n}"} for n in range(3)]
        history = support.history_of(state, iterations=HISTORY.records("iterations"), learnings=learnings,
                                     ledger=HISTORY.records("ledger"))
        campaign = load_campaign(**{"proposal_policy.max_learnings_in_context": 2})
        envelope, new = self.step(state, campaign, history=history)
        [launch] = envelope["worker_launches"]
        context = launch["task"]["context"]
        self.assertEqual(launch["task"]["worker"], "metaopt-analysis-worker")
        self.assertEqual(context, {
            "sweep_identity": IDENTITY, "sweep_url": None, "sweep_config": state["selected_sweep"]["sweep_config"],
            "best_run": state["current_sweep"]["best_run"],
            "trials": {"finished": 18, "failed": 1, "killed": 1, "interrupted": 0}, "runner_restarts": 0,
            "baseline": state["baseline"], "learnings": learnings[-2:],
            # no trial table: the sweep's history is its best run
            "history": {"trials": [{"iteration": 2, "run_id": "trial-0014", "state": "finished",
                                    "params": state["current_sweep"]["best_run"]["config"], "metric_value": 0.574}],
                        "trials_seen": 1, "latest_space": None}})
        self.assertMoved(envelope, new, "ANALYZE", "finalize_analysis")

    def test_plan_with_no_learnings_in_context(self):
        envelope, _ = self.step(analysis_state("plan_analysis"),
                                load_campaign(**{"proposal_policy.max_learnings_in_context": 0}))
        self.assertEqual(envelope["worker_launches"][0]["task"]["context"]["learnings"], [])

    def test_finalize_waits_for_the_worker_until_its_timeout(self):
        envelope, new = self.step(analysis_state())
        self.assertMoved(envelope, new, "ANALYZE", "finalize_analysis", "wait")
        self.assertEqual(envelope["wait"]["pending_ids"], ["analysis-2-1"])
        self.assertEqual(envelope["wait"]["until"], "2026-11-22T12:36:00Z")

    def test_the_code_decides_improvement_and_the_worker_claim_is_advisory(self):
        best = dict(load_state("analyze")["current_sweep"]["best_run"])
        cases = {  # best val_loss vs baseline 0.612, minimize, threshold 0.005
            "better, worker says no": (0.574, False, True),
            "within the threshold, worker says yes": (0.609, True, False),
            "worse, worker says yes": (0.7, True, False),
            "better by more than the threshold, worker agrees": (0.6, True, True),
        }
        for name, (value, claim, improved) in cases.items():
            with self.subTest(case=name):
                state = analysis_state()
                state["current_sweep"]["best_run"] = dict(best, metric_value=value)
                envelope, new = self.step(state, results={"analysis-2-1": self.analysis("analysis-2-1", claim)})
                self.assertResolved(envelope, "analysis-2-1", "consumed")
                self.assertMoved(envelope, new, "ROLL_ITERATION", "roll_iteration")
                analysis = new["analysis"]
                self.assertEqual((analysis["improved"], analysis["worker_claimed_improved"]), (improved, claim))
                self.assertEqual((analysis["iteration"], analysis["sweep_identity"], analysis["best_run"]),
                                 (2, IDENTITY, state["current_sweep"]["best_run"]))
                self.assertEqual(analysis["learnings"], ["weight_decay near 4e-4 helps."])

    def test_improvement_without_a_baseline_or_without_a_best_run(self):
        best = load_state("analyze")["current_sweep"]["best_run"]
        cases = {"no baseline yet": (None, best, True), "no run logged the metric": (None, None, False),
                 "campaign baseline beaten": ({"metric_value": 0.6, "source": "campaign"}, best, True)}
        for name, (initial, best_run, improved) in cases.items():
            with self.subTest(case=name):
                state = analysis_state()
                state["baseline"] = None
                state["hydration"]["initial_baseline"] = initial
                state["current_sweep"]["best_run"] = best_run
                _, new = self.step(state, results={"analysis-2-1": self.analysis("analysis-2-1", not improved)})
                self.assertEqual(new["analysis"]["improved"], improved)

    def test_direction_aware_for_a_maximized_metric(self):
        campaign = load_campaign(**{"objective.direction": "maximize"})
        state = analysis_state()
        state["campaign"]["identity_hash"] = campaign_lib.identity_hash(campaign)
        _, new = self.step(state, campaign, results={"analysis-2-1": self.analysis("analysis-2-1", True)})
        self.assertFalse(new["analysis"]["improved"])  # 0.574 is below the 0.612 baseline

    def test_a_failed_or_invalid_result_is_retried_then_blocks(self):
        invalid = landed("analysis-result", {"schema_version": 1, "task_id": "analysis-2-1"})
        for name, result in (("failed", self.analysis("analysis-2-1", status="failed")), ("invalid", invalid)):
            with self.subTest(case=name, attempt=1):
                envelope, new = self.step(analysis_state(), results={"analysis-2-1": result})
                self.assertResolved(envelope, "analysis-2-1", "rejected")
                [launch] = envelope["worker_launches"]
                self.assertEqual(launch["task"]["attempt"], 2)
                self.assertMoved(envelope, new, "ANALYZE", "finalize_analysis")
                self.assertIsNone(new["analysis"])
            with self.subTest(case=name, attempt="last"):
                envelope, new = self.step(analysis_state(attempt=2), results={"analysis-2-1": result})
                self.assertMoved(envelope, new, "BLOCKED_PROTOCOL", "stopped", "blocked")
                self.assertEqual((new["block"]["code"], new["block"]["resume_state"], new["block"]["resume_phase"]),
                                 ("worker-attempts-exhausted", "ANALYZE", "plan_analysis"))
                self.assertEqual(envelope["worker_launches"], [])

    def test_a_late_worker_is_replaced(self):
        envelope, new = self.step(analysis_state(), now="2026-11-22T12:36:00Z")
        self.assertResolved(envelope, "analysis-2-1", "superseded")
        self.assertEqual(len(envelope["worker_launches"]), 1)
        self.assertMoved(envelope, new, "ANALYZE", "finalize_analysis")


class CampaignGuard(HandoffCase):
    STATES = {
        "LOCAL_SANITY/request_smoke_test": lambda: smoke_state("request_smoke_test"),
        "LOCAL_SANITY/gate_smoke_test": smoke_state,
        "LAUNCH_SWEEP/request_launch": lambda: launch_state("request_launch"),
        "LAUNCH_SWEEP/confirm_launch": launch_state,
        "WAIT_FOR_SWEEP/request_poll": lambda: poll_state("request_poll"),
        "WAIT_FOR_SWEEP/gate_poll": poll_state,
        "ANALYZE/plan_analysis": lambda: analysis_state("plan_analysis"),
        "ANALYZE/finalize_analysis": analysis_state,
    }

    def test_every_phase_blocks_on_an_invalid_or_changed_campaign(self):
        renamed = load_campaign(**{"wandb.project": "another-project"})
        for phase, make_state in self.STATES.items():
            for name, campaign, code in (("invalid", False, "campaign-invalid"),
                                         ("identity changed", renamed, "campaign-identity-changed")):
                with self.subTest(phase=phase, case=name):
                    state = make_state()
                    envelope, new = self.step(state, campaign)
                    self.assertMoved(envelope, new, "BLOCKED_CONFIG", "stopped", "blocked")
                    self.assertEqual(new["block"]["code"], code)
                    self.assertEqual(f"{new['block']['resume_state']}/{new['block']['resume_phase']}", phase)
                    live = (state["current_sweep"] or {}).get("resources_live")
                    self.assertEqual(bool(self.directives(envelope, "teardown")), bool(live))

    def test_a_state_of_another_agent_is_refused(self):
        with self.assertRaises(ValueError):
            remote_execution.handoff(load_state("roll-iteration"), load_campaign(), Inputs(now=NOW))

    def test_a_gate_without_its_pending_record_asks_again(self):
        cases = {"LOCAL_SANITY/gate_smoke_test": (smoke_state, "run_smoke_test"),
                 "LAUNCH_SWEEP/confirm_launch": (launch_state, "launch_sweep"),
                 "WAIT_FOR_SWEEP/gate_poll": (poll_state, "poll_sweep")}
        for phase, (make_state, directive_type) in cases.items():
            with self.subTest(phase=phase):
                state = make_state()
                state["pending"] = []
                envelope, new = self.step(state)
                self.assertEqual(len(self.directives(envelope, directive_type)), 1)
                self.assertEqual(f"{new['machine_state']}/{new['phase']}", phase)


if __name__ == "__main__":
    unittest.main()
