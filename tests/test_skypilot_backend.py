"""The skypilot backend against a recorded fake of W&B, SkyPilot and Vast.ai (tests/cloud_fake.py): money
rules, crash recovery, idempotency, secrets and the shape of every result."""
from __future__ import annotations

import copy
import csv
import datetime
import io
import importlib.util
import json
import math
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401
from cloud_fake import FakeClock, FakeCloud, SimulatedCrash
from metaopt_lib.contract import validation
from metaopt_lib.contract.redaction import REDACTED
from metaopt_lib.executor import core
from metaopt_lib.executor.cloud import backend as skypilot_backend, record as cloud_record, task as skypilot_task
from metaopt_lib.executor.cloud.adapter import CloudError
from metaopt_lib.executor.outcome import ExecContext
from metaopt_lib.executor.records import RecordError
from metaopt_lib.report.writer import write_trials_table

SECRET = "wandb-secret-KEY-5f9c2d7e1a3b4c6d8e0f"
IDENTITY = "cifar-cloud-iter-1"
RUN_CAP, AGENTS, CAP = 9, 3, 0.6


def sweep_config(run_cap=RUN_CAP):
    return {"method": "random", "metric": {"name": "val_loss", "goal": "minimize"},
            "parameters": {"lr": {"distribution": "log_uniform_values", "min": 0.0001, "max": 0.1}},
            "run_cap": run_cap, "program": "train.py"}


class CloudProject:
    """A temporary project root, a fake cloud, a fake clock, and builders of valid directives."""

    def __init__(self, test: unittest.TestCase):
        self.test = test
        self._tmp = tempfile.TemporaryDirectory()
        test.addCleanup(self._tmp.cleanup)
        self.root = Path(self._tmp.name)
        (self.root / "training").mkdir()
        self.clock = FakeClock()
        self.cloud = FakeCloud(self.clock)
        self.ctx = ExecContext(self.root, clock=self.clock, env={"WANDB_API_KEY": SECRET, "PATH": "/usr/bin"})
        self.sequence = 0

    def directive(self, kind, payload, directive_id=None) -> dict:
        self.sequence += 1
        directive_id = directive_id or f"{kind.split('_')[0]}-1-{self.sequence}"
        document = {"directive_id": directive_id, "type": kind, "iteration": 1,
                    "result_path": f".ml-metaopt/results/iter-1/{directive_id}.json", "payload": payload}
        self.test.assertEqual(validation.validate_document("directive", document, "directive"), [])
        return document

    def launch_directive(self, budget=(200.0, 0.0), agents=AGENTS, run_cap=RUN_CAP, directive_id=None) -> dict:
        cap, spent = budget
        return self.directive("launch_sweep", {
            "sweep_identity": IDENTITY, "backend": "skypilot", "sweep_config": sweep_config(run_cap),
            "num_agents": agents, "idle_timeout_minutes": 20,
            "budget": {"max_budget_usd": cap, "spent_usd": spent, "remaining_usd": round(max(0.0, cap - spent), 6)},
            "wandb": {"entity": "vision-team", "project": "cloud-sweeps"},
            "skypilot": {"provider": "vast_ai", "accelerator": "RTX4090:1", "max_hourly_cost_usd": CAP,
                         "disk_size_gb": 100, "setup": "pip install -r requirements.txt", "repo": "training"}},
            directive_id)

    def poll_directive(self, sweep_id, budget=(200.0, 0.0), recorded=0.0, directive_id=None) -> dict:
        cap, spent = budget
        return self.directive("poll_sweep", {
            "sweep_identity": IDENTITY, "sweep_id": sweep_id, "backend": "skypilot", "idle_timeout_minutes": 20,
            "budget": {"max_budget_usd": cap, "spent_usd": spent, "remaining_usd": round(max(0.0, cap - spent), 6)},
            "recorded_sweep_spend_usd": recorded,
            "objective": {"metric": "val_loss", "direction": "minimize", "improvement_threshold": 0.0},
            "poll_attempt": 1}, directive_id)

    def teardown_directive(self, sweep_id, directive_id=None) -> dict:
        return self.directive("teardown", {"sweep_identity": IDENTITY, "sweep_id": sweep_id, "backend": "skypilot",
                                           "reason": "test teardown"}, directive_id)

    def run(self, directive) -> dict:
        """Run a directive against the fake and return the full executor result, checked by contract."""
        handler = {"launch_sweep": skypilot_backend.launch, "poll_sweep": skypilot_backend.poll,
                   "teardown": skypilot_backend.teardown}[directive["type"]]
        outcome = handler(directive, self.ctx, self.cloud)
        result = {"schema_version": 1, "directive_id": directive["directive_id"], "type": directive["type"],
                  "status": "ok" if outcome.ok else "failed", "completed_at": "2026-11-22T00:00:00Z",
                  "error": None if outcome.ok else outcome.error.as_dict(), "details": outcome.details}
        self.test.assertEqual(validation.validate_document("executor-result", result, "result"), [])
        return result

    def launch(self, **kw) -> dict:
        result = self.run(self.launch_directive(**kw))
        self.test.assertEqual(result["status"], "ok", result["error"])
        return result

    def record(self) -> dict:
        return cloud_record.load(self.ctx, IDENTITY)


def names_of(resources, kind="cluster"):
    return sorted(r["name"] for r in resources if r["kind"] == kind)


class Launch(unittest.TestCase):
    def setUp(self):
        self.p = CloudProject(self)

    def test_creates_one_sweep_and_one_agent_cluster_per_agent(self):
        details = self.p.launch()["details"]
        cloud = self.p.cloud
        self.assertEqual(cloud.count("create_sweep"), 1)
        self.assertEqual(len(set(cloud.launched_names())), AGENTS)
        self.assertEqual(len(cloud.launched_names()), AGENTS)
        self.assertFalse(details["reconnected"])
        self.assertEqual(details["agents_started"], AGENTS)
        self.assertEqual(details["sweep_id"], cloud.only_sweep())
        self.assertEqual(names_of(details["resources"]), sorted(cloud.clusters))
        self.assertEqual(names_of(details["resources"], "sweep"), [cloud.only_sweep()])
        self.assertEqual(cloud.sweeps[cloud.only_sweep()]["name"], IDENTITY)
        self.assertEqual(cloud.sweeps[cloud.only_sweep()]["config"]["run_cap"], RUN_CAP)

    def test_task_runs_wandb_agent_with_a_share_of_the_run_cap_and_names_the_key_only(self):
        self.p.launch()
        name, config = sorted(self.p.cloud.launch_configs.items())[0]
        sweep_path = f"vision-team/cloud-sweeps/{self.p.cloud.only_sweep()}"
        self.assertEqual(config["run"], f"wandb agent --count 3 --max-consecutive-failed-runs 3 {sweep_path}")
        self.assertEqual(config["secrets"], {"WANDB_API_KEY": None})
        self.assertEqual(config["envs"]["WANDB_TAGS"], name)
        self.assertEqual(config["resources"]["max_hourly_cost"], CAP)
        self.assertEqual(config["resources"]["autostop"], {"idle_minutes": 20, "down": True})
        self.assertEqual(config["workdir"], str((self.p.root / "training").resolve()))
        self.assertTrue(config["setup"].startswith("pip install -r requirements.txt\n"))
        self.assertIn("wandb", config["setup"].splitlines()[-1])
        self.assertEqual(self.p.cloud.launch_secrets[name], {"WANDB_API_KEY": SECRET})

    def test_refuses_when_the_budget_cannot_pay_one_hour_of_every_machine(self):
        result = self.p.run(self.p.launch_directive(budget=(10.0, 8.3)))  # 1.7 left < 0.6 × 3
        self.assertEqual(result["status"], "failed")
        self.assertEqual(result["error"]["code"], "launch-budget-insufficient")
        self.assertFalse(result["error"]["retryable"])
        self.assertEqual(self.p.cloud.calls, [])

    def test_refuses_without_a_wandb_key_before_any_call(self):
        self.p.ctx.env = {"PATH": "/usr/bin"}
        result = self.p.run(self.p.launch_directive())
        self.assertEqual(result["error"]["code"], "wandb-api-key-missing")
        self.assertEqual(self.p.cloud.calls, [])

    def test_refuses_a_sweep_name_it_has_no_record_of(self):
        self.p.cloud.create_sweep("vision-team", "cloud-sweeps", {"name": IDENTITY})
        self.p.cloud.calls.clear()
        result = self.p.run(self.p.launch_directive())
        self.assertEqual(result["error"]["code"], "sweep-name-taken")
        self.assertEqual(self.p.cloud.count("create_sweep") + self.p.cloud.count("launch_cluster"), 0)

    def test_duplicate_launch_reconnects_without_starting_anything(self):
        first = self.p.launch()["details"]
        second = self.p.launch()["details"]
        self.assertTrue(second["reconnected"])
        self.assertEqual(second["agents_started"], 0)
        self.assertEqual(second["resources"], first["resources"])
        self.assertEqual(second["sweep_id"], first["sweep_id"])
        self.assertEqual(self.p.cloud.count("create_sweep"), 1)
        self.assertEqual(self.p.cloud.count("launch_cluster"), AGENTS)

    def test_a_launch_after_teardown_starts_nothing(self):
        sweep_id = self.p.launch()["details"]["sweep_id"]
        self.assertEqual(self.p.run(self.p.teardown_directive(sweep_id))["status"], "ok")
        self.p.cloud.calls.clear()
        details = self.p.launch()["details"]
        self.assertEqual((details["reconnected"], details["agents_started"]), (True, 0))
        self.assertEqual(details["resources"], [])
        self.assertEqual(self.p.cloud.count("create_sweep") + self.p.cloud.count("launch_cluster"), 0)

    def test_same_directive_twice_reports_the_same_resources(self):
        directive = self.p.launch_directive()
        first, second = self.p.run(directive)["details"], self.p.run(directive)["details"]
        self.assertEqual(first["resources"], second["resources"])
        self.assertEqual(self.p.cloud.count("launch_cluster"), AGENTS)


class LaunchFailure(unittest.TestCase):
    def setUp(self):
        self.p = CloudProject(self)

    def test_failure_after_the_sweep_exists_stops_it_and_downs_every_cluster_first(self):
        cloud = self.p.cloud
        cloud.fail_launch[2] = CloudError("launch-unavailable", "no RTX4090 offer under $0.6/h", True)
        cloud.fail_launch_leaves_init = True
        result = self.p.run(self.p.launch_directive())
        self.assertEqual(result["status"], "failed")
        self.assertEqual(result["error"]["code"], "launch-failed")
        self.assertTrue(result["error"]["retryable"])
        self.assertEqual(result["details"]["resources"], [])
        methods = [c[0] for c in cloud.calls]
        failed_at = max(i for i, c in enumerate(cloud.calls) if c[0] == "launch_cluster")
        self.assertIn("stop_sweep", methods[failed_at:])
        self.assertEqual(sorted(c[1] for c in cloud.calls if c[0] == "down_cluster"), sorted(cloud.launched_names()))
        self.assertEqual(cloud.clusters, {})
        self.assertEqual(cloud.sweeps[cloud.only_sweep()]["state"], "FINISHED")
        self.assertEqual(result["details"]["sweep_id"], cloud.only_sweep())

    def test_a_non_retryable_cause_is_reported_as_not_retryable(self):
        self.p.cloud.fail_launch[1] = CloudError("skypilot-launch-rejected", "no Vast credentials", False)
        result = self.p.run(self.p.launch_directive())
        self.assertEqual(result["error"]["code"], "launch-failed")
        self.assertFalse(result["error"]["retryable"])

    def test_retry_after_rollback_starts_a_fresh_sweep_and_never_reuses_a_cluster_name(self):
        cloud = self.p.cloud
        cloud.fail_launch[2] = CloudError("launch-unavailable", "no offer", True)
        first = self.p.run(self.p.launch_directive())["details"]
        del cloud.fail_launch[2]
        second = self.p.launch()["details"]
        self.assertNotEqual(second["sweep_id"], first["sweep_id"])
        self.assertFalse(second["reconnected"])
        self.assertEqual(second["agents_started"], AGENTS)
        self.assertEqual(len(cloud.launched_names()), len(set(cloud.launched_names())))
        self.assertEqual(self.p.record()["abandoned_sweep_ids"], [first["sweep_id"]])
        self.assertEqual(cloud.sweeps[first["sweep_id"]]["state"], "FINISHED")

    def test_crash_after_a_cluster_launch_reconnects_without_duplicates(self):
        cloud = self.p.cloud
        cloud.crash_after["launch_cluster"] = 2
        with self.assertRaises(SimulatedCrash):
            skypilot_backend.launch(self.p.launch_directive(), self.p.ctx, cloud)
        details = self.p.launch()["details"]
        self.assertTrue(details["reconnected"])
        self.assertEqual(details["agents_started"], 1)
        self.assertEqual(cloud.count("create_sweep"), 1)
        self.assertEqual(len(cloud.clusters), AGENTS)
        self.assertEqual(len(cloud.launched_names()), len(set(cloud.launched_names())))

    def test_crash_after_creating_the_sweep_finds_it_by_name(self):
        cloud = self.p.cloud
        cloud.crash_after["create_sweep"] = 1
        with self.assertRaises(SimulatedCrash):
            skypilot_backend.launch(self.p.launch_directive(), self.p.ctx, cloud)
        self.assertEqual(self.p.record()["sweep"]["phase"], "creating")
        details = self.p.launch()["details"]
        self.assertTrue(details["reconnected"])
        self.assertEqual(details["sweep_id"], cloud.only_sweep())
        self.assertEqual(cloud.count("create_sweep"), 1)
        self.assertEqual(details["agents_started"], AGENTS)


class PollSpend(unittest.TestCase):
    def setUp(self):
        self.p = CloudProject(self)
        self.sweep_id = self.p.launch()["details"]["sweep_id"]

    def poll(self, **kw) -> dict:
        return self.p.run(self.p.poll_directive(self.sweep_id, **kw))

    def test_spend_is_vast_price_times_uptime_of_every_machine(self):
        self.p.clock.advance(hours=2)
        result = self.poll()
        self.assertEqual(result["status"], "ok")
        spend = result["details"]["spend"]
        self.assertTrue(spend["complete"])
        self.assertAlmostEqual(spend["sweep_spend_usd"], AGENTS * 0.45 * 2, places=6)
        self.assertGreaterEqual(spend["sweep_spend_usd"] + 1e-9, self.p.cloud.true_bill())
        self.assertEqual(result["details"]["budget"]["spent_usd"], spend["sweep_spend_usd"])

    def test_a_failed_listing_is_a_retryable_failure_and_never_zero(self):
        for method in ("list_clusters", "list_instances"):
            with self.subTest(failing=method):
                self.p.clock.advance(minutes=30)
                self.p.cloud.fail[method] = CloudError("listing-down", "API unreachable", True)
                result = self.poll()
                del self.p.cloud.fail[method]
                self.assertEqual(result["status"], "failed")
                self.assertEqual(result["error"]["code"], "spend-listing-failed")
                self.assertTrue(result["error"]["retryable"])
                spend = result["details"]["spend"]
                self.assertFalse(spend["complete"])
                self.assertGreaterEqual(spend["sweep_spend_usd"], self.p.cloud.true_bill() - 1e-9)
                self.assertGreater(spend["sweep_spend_usd"], 0)
                failed = [s for s in spend["sources"] if not s["ok"]]
                self.assertEqual([s["usd"] for s in failed], [None])

    def test_a_failed_listing_with_an_empty_one_keeps_billing_every_machine(self):
        self.p.clock.advance(hours=1)
        first = self.poll()["details"]["spend"]["sweep_spend_usd"]
        self.p.cloud.fail["list_clusters"] = CloudError("skypilot-list-failed", "API server down", True)
        self.p.cloud.vast_hidden = True
        self.p.clock.advance(hours=1)
        result = self.poll()
        self.assertEqual(result["error"]["code"], "spend-listing-failed")
        self.assertAlmostEqual(result["details"]["spend"]["sweep_spend_usd"] - first, AGENTS * 0.45, places=6)
        self.assertGreaterEqual(result["details"]["spend"]["sweep_spend_usd"], self.p.cloud.true_bill() - 1e-9)
        self.assertTrue(result["details"]["resources_live"])

    def test_an_empty_vast_listing_while_machines_bill_still_counts_them(self):
        self.p.cloud.vast_hidden = True
        self.p.clock.advance(hours=1)
        spend = self.poll()["details"]["spend"]
        self.assertGreaterEqual(spend["sweep_spend_usd"], self.p.cloud.true_bill() - 1e-9)
        self.assertAlmostEqual(spend["sweep_spend_usd"], AGENTS * CAP, places=6)  # no real price: the cap

    def test_spend_never_decreases_when_a_cluster_leaves_the_listings(self):
        self.p.clock.advance(hours=1)
        first = self.poll()["details"]["spend"]["sweep_spend_usd"]
        gone = sorted(self.p.cloud.clusters)[0]
        self.p.cloud.autodown(gone)
        self.p.clock.advance(minutes=30)
        second = self.poll()["details"]
        self.p.cloud.sky_hidden.add(sorted(self.p.cloud.clusters)[0])  # Vast still bills it
        self.p.clock.advance(minutes=30)
        third = self.poll()["details"]
        self.assertGreaterEqual(second["spend"]["sweep_spend_usd"], first)
        self.assertGreaterEqual(third["spend"]["sweep_spend_usd"], second["spend"]["sweep_spend_usd"])
        self.assertGreaterEqual(third["spend"]["sweep_spend_usd"], self.p.cloud.true_bill() - 1e-9)
        ended = {c["name"]: c["ended_at"] for c in self.p.record()["clusters"]}
        self.assertIsNotNone(ended[gone])
        self.assertTrue(third["resources_live"])

    def test_budget_reached_mid_poll_stops_everything(self):
        self.p.clock.advance(hours=2)  # 3 × 0.45 × 2 = 2.7 on top of 8.0 spent of 10
        result = self.poll(budget=(10.0, 8.0))
        details = result["details"]
        self.assertEqual(result["status"], "ok")
        self.assertEqual((details["sweep_status"], details["stop_reason"]), ("budget_exceeded", "budget"))
        self.assertGreaterEqual(details["budget"]["spent_usd"], 10.0)
        self.assertEqual(details["budget"]["remaining_usd"], 0)
        self.assertEqual(self.p.cloud.clusters, {})
        self.assertEqual(self.p.cloud.sweeps[self.sweep_id]["state"], "FINISHED")
        self.assertFalse(details["resources_live"])

    def test_only_new_spend_is_added_to_the_campaign_total(self):
        self.p.clock.advance(hours=1)
        details = self.poll(budget=(50.0, 5.0), recorded=1.0)["details"]
        self.assertAlmostEqual(details["budget"]["spent_usd"], 5.0 + details["spend"]["sweep_spend_usd"] - 1.0,
                               places=6)


class PollProgress(unittest.TestCase):
    def setUp(self):
        self.p = CloudProject(self)
        self.sweep_id = self.p.launch()["details"]["sweep_id"]
        self.names = sorted(self.p.cloud.clusters)

    def poll(self, directive_id=None) -> dict:
        return self.p.run(self.p.poll_directive(self.sweep_id, directive_id=directive_id))

    def test_hung_runs_are_killed_their_clusters_downed_and_reported_once(self):
        cloud, now = self.p.cloud, self.p.clock()
        cloud.add_run(self.sweep_id, "r-silent", cluster=self.names[0], logged=now)
        cloud.add_run(self.sweep_id, "r-dead", cluster=self.names[1], logged=now)
        cloud.add_run(self.sweep_id, "r-fine", cluster=self.names[2], logged=now)
        self.p.clock.advance(minutes=25)
        later = self.p.clock()
        cloud.runs[self.sweep_id]["r-silent"]["heartbeat"] = later  # alive, but logs nothing new
        cloud.runs[self.sweep_id]["r-fine"].update(heartbeat=later, logged=later)
        details = self.poll()["details"]
        self.assertEqual(sorted(details["idle_killed"]), ["r-dead", "r-silent"])
        self.assertEqual(sorted(c[1] for c in cloud.calls if c[0] == "stop_run"), ["r-dead", "r-silent"])
        self.assertEqual(sorted(cloud.clusters), [self.names[2]])
        self.assertEqual(details["trials"], {"finished": 0, "running": 1, "failed": 0, "killed": 2, "interrupted": 0})
        self.assertTrue(details["resources_live"])
        again = self.poll()["details"]
        self.assertEqual(again["idle_killed"], [])
        self.assertEqual(again["trials"]["killed"], 2)

    def test_every_poll_writes_the_trial_table_the_report_reads_from_w_and_bs_runs(self):
        cloud, start = self.p.cloud, self.p.clock()
        cloud.add_run(self.sweep_id, "r-second", cluster=self.names[1], state="finished", metric=0.41,
                      config={"lr": 0.02, "_wandb": {"x": 1}}, created=start + datetime.timedelta(minutes=2))
        cloud.add_run(self.sweep_id, "r-first", cluster=self.names[0], state="crashed", metric=None,
                      config={"lr": 0.05}, created=start)
        # r-second's last heartbeat (now) is dated before its creation, as two machines' clocks can make
        # it: no negative trial length, no invalid poll result.
        self.assertEqual(self.poll()["details"]["trial_seconds"], 0)
        table = json.loads((self.p.root / ".ml-metaopt" / "trials" / f"{IDENTITY}.json").read_text())
        self.assertEqual(validation.validate_document("trial-table", table, "table"), [])
        self.assertEqual([(r["run_id"], r["state"], r["params"], r["metric_value"]) for r in table["trials"]],
                         [("r-first", "failed", {"lr": 0.05}, None), ("r-second", "finished", {"lr": 0.02}, 0.41)])
        state = {"completed_iterations": [], "current_sweep": {"iteration": 1, "sweep_identity": IDENTITY}}
        written = {}
        write_trials_table(self.p.root, state, {"objective": {"metric": "val_loss"}}, written.__setitem__)
        rows = list(csv.DictReader(io.StringIO(written[".ml-metaopt/reports/trials.csv"])))
        self.assertEqual([(r["run_id"], r["state"], r["val_loss"], r["param.lr"], r["purpose"]) for r in rows],
                         [("r-first", "failed", "", "0.05", "search"), ("r-second", "finished", "0.41", "0.02", "search")])

    def test_the_same_poll_directive_twice_reports_the_same_kills_and_liveness(self):
        self.p.cloud.add_run(self.sweep_id, "r-dead", cluster=self.names[0], logged=self.p.clock())
        self.p.clock.advance(minutes=30)
        directive = self.p.poll_directive(self.sweep_id)
        first, second = self.p.run(directive)["details"], self.p.run(directive)["details"]
        self.assertEqual(first["idle_killed"], second["idle_killed"])
        self.assertEqual(first["resources_live"], second["resources_live"])
        self.assertEqual(self.p.cloud.count("stop_run"), 1)

    def test_best_run_is_direction_aware_among_finite_metrics(self):
        cloud = self.p.cloud
        cloud.add_run(self.sweep_id, "r1", state="finished", metric=0.30, config={"lr": 0.1})
        cloud.add_run(self.sweep_id, "r2", state="finished", metric=0.12, config={"lr": 0.01})
        cloud.add_run(self.sweep_id, "r3", state="crashed", metric=math.nan)
        cloud.add_run(self.sweep_id, "r4", state="failed")
        details = self.poll()["details"]
        self.assertEqual(details["best_run"]["run_id"], "r2")
        self.assertEqual(details["best_run"]["metric_value"], 0.12)
        self.assertEqual(details["best_run"]["config"], {"lr": 0.01})
        self.assertEqual(details["trials"], {"finished": 2, "running": 0, "failed": 2, "killed": 0, "interrupted": 0})

    def test_wandb_sweep_states_are_compared_case_insensitively(self):
        cases = {"RUNNING": ("running", None), "running": ("running", None), "Paused": ("paused", None),
                 "PENDING": ("pending", None), "FINISHED": ("finished", "run_cap"), "finished": ("finished", "run_cap"),
                 "Canceled": ("canceled", "canceled"), "CANCELLED": ("canceled", "canceled"),
                 "Crashed": ("failed", "failed"), "FAILED": ("failed", "failed")}
        for raw, expected in cases.items():
            with self.subTest(state=raw):
                self.p.cloud.set_sweep_state(self.sweep_id, raw)
                details = self.poll()["details"]
                self.assertEqual((details["sweep_status"], details["stop_reason"]), expected)

    def test_an_unknown_state_is_a_retryable_failure(self):
        self.p.cloud.set_sweep_state(self.sweep_id, "HIBERNATING")
        result = self.poll()
        self.assertEqual(result["error"]["code"], "sweep-state-unknown")
        self.assertTrue(result["error"]["retryable"])

    def test_a_finished_sweep_with_machines_up_reports_them_live(self):
        self.p.cloud.set_sweep_state(self.sweep_id, "FINISHED")
        details = self.poll()["details"]
        self.assertEqual(details["sweep_status"], "finished")
        self.assertTrue(details["resources_live"])

    def test_agents_gone_while_wandb_says_running_ends_the_sweep(self):
        cases = [([], ("failed", "failed")), (["finished"] * 2, ("canceled", "canceled")),
                 (["finished"] * RUN_CAP, ("finished", "run_cap"))]
        for states, expected in cases:
            with self.subTest(finished=len(states)):
                p = CloudProject(self)
                sweep_id = p.launch()["details"]["sweep_id"]
                for index, state in enumerate(states):
                    p.cloud.add_run(sweep_id, f"r{index}", state=state, metric=float(index))
                for name in list(p.cloud.clusters):
                    p.cloud.autodown(name)
                details = p.run(p.poll_directive(sweep_id))["details"]
                self.assertEqual((details["sweep_status"], details["stop_reason"]), expected)
                self.assertEqual(p.cloud.sweeps[sweep_id]["state"], "FINISHED")
                self.assertFalse(details["resources_live"])

    def test_agents_are_not_declared_gone_while_a_listing_is_missing(self):
        for name in list(self.p.cloud.clusters):
            self.p.cloud.autodown(name)
        self.p.cloud.fail["list_instances"] = CloudError("vast-listing-failed", "timeout", True)
        details = self.poll()["details"]
        self.assertEqual(details["sweep_status"], "running")
        self.assertEqual(self.p.cloud.count("stop_sweep"), 0)
        self.assertTrue(details["resources_live"])

    def test_a_poll_after_teardown_reports_canceled_and_nothing_live(self):
        self.assertEqual(self.p.run(self.p.teardown_directive(self.sweep_id))["status"], "ok")
        details = self.poll()["details"]
        self.assertEqual((details["sweep_status"], details["stop_reason"]), ("canceled", "canceled"))
        self.assertFalse(details["resources_live"])

    def test_a_poll_without_a_record_fails_for_good_with_unknown_spend(self):
        p = CloudProject(self)
        result = p.run(p.poll_directive("swp99999", recorded=1.5))
        self.assertEqual(result["error"]["code"], "sweep-record-missing")
        self.assertFalse(result["error"]["retryable"])
        self.assertEqual(result["details"]["spend"]["sweep_spend_usd"], 1.5)
        self.assertTrue(result["details"]["resources_live"])


class Teardown(unittest.TestCase):
    def setUp(self):
        self.p = CloudProject(self)
        self.sweep_id = self.p.launch()["details"]["sweep_id"]

    def test_leaves_nothing_and_says_so(self):
        clusters = sorted(self.p.cloud.clusters)
        directive = self.p.teardown_directive(self.sweep_id)
        result = self.p.run(directive)
        self.assertEqual(result["status"], "ok")
        details = result["details"]
        self.assertTrue(details["sweep_stopped"])
        self.assertEqual(details["resources_remaining"], [])
        self.assertEqual(names_of(details["resources_released"]), clusters)
        self.assertEqual(names_of(details["resources_released"], "sweep"), [self.sweep_id])
        self.assertEqual(self.p.cloud.clusters, {})
        self.assertEqual(self.p.cloud.sweeps[self.sweep_id]["state"], "FINISHED")
        self.assertEqual(self.p.run(directive)["details"], details)  # the same directive twice

    def test_reports_a_vast_instance_that_outlives_its_cluster(self):
        survivor = sorted(self.p.cloud.clusters)[1]
        self.p.cloud.down_leaves_instance.add(survivor)
        result = self.p.run(self.p.teardown_directive(self.sweep_id))
        self.assertEqual(result["status"], "failed")
        self.assertEqual(result["error"]["code"], "teardown-incomplete")
        self.assertTrue(result["error"]["retryable"])
        (remaining,) = result["details"]["resources_remaining"]
        self.assertTrue(remaining["name"].startswith(survivor + "-"))
        self.assertEqual(remaining["hourly_cost_usd"], 0.45)

    def test_an_unconfirmed_teardown_is_not_ok(self):
        self.p.cloud.fail["list_instances"] = CloudError("vast-listing-failed", "timeout", True)
        result = self.p.run(self.p.teardown_directive(self.sweep_id))
        self.assertEqual(result["status"], "failed")
        self.assertTrue(result["error"]["retryable"])
        self.assertEqual(len(result["details"]["resources_remaining"]), AGENTS)

    def test_without_a_sweep_id_it_finds_the_sweep_by_name(self):
        p = CloudProject(self)
        p.cloud.crash_after["create_sweep"] = 1
        with self.assertRaises(SimulatedCrash):
            skypilot_backend.launch(p.launch_directive(), p.ctx, p.cloud)
        result = p.run(p.teardown_directive(None))
        self.assertEqual(result["status"], "ok")
        self.assertEqual(p.cloud.sweeps[p.cloud.only_sweep()]["state"], "FINISHED")
        self.assertEqual(names_of(result["details"]["resources_released"], "sweep"), [p.cloud.only_sweep()])

    def test_without_any_record_it_downs_clusters_by_name_prefix(self):
        cloud = CloudProject(self)
        cloud.cloud = self.p.cloud  # machines launched by a project whose record is lost
        result = cloud.run(cloud.teardown_directive(None))
        self.assertEqual(result["status"], "ok")
        self.assertEqual(self.p.cloud.clusters, {})
        self.assertTrue(result["details"]["sweep_stopped"])


class Safety(unittest.TestCase):
    def test_no_secret_reaches_any_file_result_or_message(self):
        p = CloudProject(self)
        p.cloud.fail_launch[3] = CloudError("skypilot-launch-failed", f"env dump WANDB_API_KEY={SECRET}", True)
        outputs = [p.run(p.launch_directive())]
        del p.cloud.fail_launch[3]
        outputs.append(p.run(p.launch_directive()))
        sweep_id = outputs[-1]["details"]["sweep_id"]
        p.clock.advance(hours=1)
        outputs.append(p.run(p.poll_directive(sweep_id)))
        outputs.append(p.run(p.teardown_directive(sweep_id)))
        self.assertIn(REDACTED, outputs[0]["error"]["message"])
        for output in outputs:
            self.assertNotIn(SECRET, json.dumps(output))
        files = [f for f in p.root.rglob("*") if f.is_file()]
        self.assertTrue(any(f.name == "cloud.json" for f in files))
        for path in files:
            self.assertNotIn(SECRET.encode(), path.read_bytes(), path)

    def test_dry_run_plan_makes_no_cloud_call_and_writes_nothing(self):
        p = CloudProject(self)
        directives = [p.launch_directive(), p.poll_directive("swp00001"), p.teardown_directive(None)]
        for directive in directives:
            plan = skypilot_backend.plan(directive, p.ctx)
            self.assertNotIn(SECRET, json.dumps(plan))
        launch_plan = skypilot_backend.plan(directives[0], p.ctx)
        self.assertEqual(len(launch_plan["tasks"]), AGENTS)
        self.assertEqual({json.dumps(t["secrets"]) for t in launch_plan["tasks"]}, {'{"WANDB_API_KEY": null}'})
        self.assertIsNone(launch_plan["refusal"])
        self.assertEqual(p.cloud.calls, [])
        self.assertFalse((p.root / ".ml-metaopt").exists())

    def test_a_corrupt_record_is_a_clear_error_not_a_traceback(self):
        p = CloudProject(self)
        sweep_id = p.launch()["details"]["sweep_id"]
        path = cloud_record.record_path(p.ctx, IDENTITY)
        for text, where in (("{not json", None), (json.dumps(dict(p.record(), spend_usd=-3)), "$.spend_usd")):
            with self.subTest(where=where):
                path.write_text(text, encoding="utf-8")
                with self.assertRaises(RecordError) as caught:
                    skypilot_backend.poll(p.poll_directive(sweep_id), p.ctx, p.cloud)
                message = caught.exception.issues[0].message
                self.assertIn(str(path), message)
                self.assertIn(f"sky down -y every cluster whose name starts with "
                              f"{skypilot_task.cluster_prefix(IDENTITY)}", message)
                if where:
                    self.assertIn(where, message)
                outcome = core.execute(p.poll_directive(sweep_id), p.ctx)  # the executor's own path
                self.assertEqual(outcome.error.code, "record-invalid")

    def test_cluster_names_are_deterministic_valid_and_unique_for_long_identities(self):
        long_a, long_b = "a" * 60 + "-x-iter-1", "a" * 60 + "-y-iter-1"
        for identity in (IDENTITY, long_a, long_b, "9lives-iter-12"):
            with self.subTest(identity=identity):
                name = skypilot_task.cluster_name(identity, 1, 64)
                self.assertEqual(name, skypilot_task.cluster_name(identity, 1, 64))
                self.assertRegex(name, r"^[a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?$")
                self.assertLessEqual(len(name), 60)
                self.assertTrue(name.startswith(skypilot_task.cluster_prefix(identity)))
        self.assertNotEqual(skypilot_task.cluster_prefix(long_a), skypilot_task.cluster_prefix(long_b))
        self.assertNotEqual(skypilot_task.cluster_name(IDENTITY, 1, 1), skypilot_task.cluster_name(IDENTITY, 2, 1))
        self.assertFalse(skypilot_task.label_belongs_to(skypilot_task.cluster_name(IDENTITY, 1, 10) + "-ab-head",
                                                        skypilot_task.cluster_name(IDENTITY, 1, 1)))


def _task(root: str) -> dict:
    return skypilot_task.task_config(
        cluster=skypilot_task.cluster_name(IDENTITY, 1, 1), entity="vision-team", project="cloud sweeps",
        sweep_id="abc123", workdir=root, idle_timeout_minutes=20, agent_count=3,
        skypilot={"provider": "vast_ai", "accelerator": "RTX4090:1", "max_hourly_cost_usd": CAP, "disk_size_gb": 100,
                  "image_id": "docker:pytorch/pytorch:2.3.1-cuda12.1-cudnn8-runtime", "repo": "training"})


class TaskValidation(unittest.TestCase):
    @unittest.skipUnless(importlib.util.find_spec("sky"), "SkyPilot is not installed (pip install "
                         "'skypilot[vast]>=0.14') so its own parser cannot check the task config")
    def test_skypilot_accepts_the_task_config_and_rejects_a_broken_one(self):
        with tempfile.TemporaryDirectory() as root:
            config = _task(root)
            self.assertEqual(skypilot_task.validate_task_config(config).status, "valid",
                             skypilot_task.validate_task_config(config).message)
            broken = copy.deepcopy(config)
            broken["resources"]["max_hourly_cost_usd"] = 1
            self.assertEqual(skypilot_task.validate_task_config(broken).status, "invalid")

    def test_without_skypilot_validation_is_reported_skipped_not_valid(self):
        with mock.patch.object(skypilot_task.importlib.util, "find_spec", return_value=None):
            self.assertEqual(skypilot_task.validate_task_config(_task("/tmp")).status, "skipped")

    def test_the_run_command_quotes_names_for_the_remote_shell(self):
        self.assertTrue(_task("/tmp")["run"].endswith("'vision-team/cloud sweeps/abc123'"))


class RealAdapterOffline(unittest.TestCase):
    """What the real adapter does without accounts or network: missing packages and keys, Vast parsing."""

    def setUp(self):
        from metaopt_lib.executor.cloud import real as cloud_real

        self.cloud_real = cloud_real

    def test_a_missing_key_or_package_is_a_cloud_error_with_the_fix(self):
        with self.assertRaises(CloudError) as caught:
            self.cloud_real.RealCloudAdapter({}).get_sweep("e", "p", "s")
        self.assertEqual((caught.exception.code, caught.exception.retryable), ("wandb-api-key-missing", False))
        for module, call, hint in (("wandb", lambda a: a.find_sweep("e", "p", IDENTITY), "wandb>=0.31"),
                                   ("sky", lambda a: a.list_clusters("mo-"), "skypilot[vast]")):
            with self.subTest(module=module), mock.patch.dict("sys.modules", {module: None}):
                with self.assertRaises(CloudError) as caught:
                    call(self.cloud_real.RealCloudAdapter({"WANDB_API_KEY": SECRET}))
                self.assertEqual(caught.exception.code, "dependency-missing")
                self.assertFalse(caught.exception.retryable)
                self.assertIn(hint, caught.exception.message)

    def test_sweep_stop_runs_the_wandb_cli_as_argv_with_the_key_only_in_its_environment(self):
        calls = []
        states = iter(["RUNNING", "RUNNING"])
        adapter = self.cloud_real.RealCloudAdapter({"WANDB_API_KEY": SECRET},
                                                   runner=lambda argv, **kw: calls.append((argv, kw)) or
                                                   mock.Mock(returncode=1, stdout="", stderr="HTTP 502"))
        adapter.get_sweep = lambda e, p, s: mock.Mock(state=next(states))
        with self.assertRaises(CloudError) as caught:
            adapter.stop_sweep("vision-team", "cloud-sweeps", "abc123")
        self.assertEqual((caught.exception.code, caught.exception.retryable), ("sweep-stop-failed", True))
        (argv, kw), = calls
        self.assertEqual(argv[1:], ["-m", "wandb", "sweep", "--stop", "vision-team/cloud-sweeps/abc123"])
        self.assertNotIn(SECRET, " ".join(argv))
        self.assertEqual(kw["env"]["WANDB_API_KEY"], SECRET)
        adapter.get_sweep = lambda e, p, s: mock.Mock(state="FINISHED")
        adapter.stop_sweep("vision-team", "cloud-sweeps", "abc123")  # already stopped: nothing to do
        self.assertEqual(len(calls), 1)

    @unittest.skipUnless(importlib.util.find_spec("wandb"), "wandb is not installed")
    def test_wandb_api_objects_are_translated_faithfully(self):
        from wandb.apis.public.runs import Run
        from wandb.apis.public.sweeps import Sweep

        service = mock.Mock(app_url="https://wandb.ai/")

        def sweep(sweep_id, created, name=IDENTITY):
            return Sweep(service, "e", "p", sweep_id, attrs={
                "id": "x", "name": sweep_id, "displayName": None, "state": "RUNNING", "createdAt": created,
                "config": f"name: {name}\nrun_cap: 9\nmethod: random\n"})

        def run(run_id, summary, tags):
            return Run(service, "e", "p", run_id, lazy=False, attrs={
                "id": "y", "name": run_id, "displayName": f"run-{run_id}", "state": "running", "tags": tags,
                "config": json.dumps({"lr": {"value": 0.01, "desc": None}}), "summaryMetrics": json.dumps(summary),
                "heartbeatAt": "2026-11-22T10:00:00", "createdAt": "2026-11-22T09:00:00"})

        api = mock.Mock()
        api.project.return_value.sweeps.return_value = [sweep("old1", "2026-11-01T00:00:00"),
                                                        sweep("new2", "2026-11-20T00:00:00"),
                                                        sweep("else3", "2026-11-21T00:00:00", name="other-iter-1")]
        api.runs.return_value = [run("r1", {"val_loss": 0.25, "_timestamp": 1795000000.0}, ["mo-a-s1-a1"]),
                                 run("r2", {"val_loss": math.nan}, [])]
        adapter = self.cloud_real.RealCloudAdapter({"WANDB_API_KEY": SECRET})
        adapter._api = api
        with mock.patch.dict("os.environ", {}):
            found = adapter.find_sweep("e", "p", IDENTITY)
            runs = adapter.list_runs("e", "p", "new2", "val_loss")
        self.assertEqual((found.sweep_id, found.run_cap, found.url), ("new2", 9, "https://wandb.ai/e/p/sweeps/new2"))
        self.assertEqual(api.runs.call_args.kwargs["filters"], {"sweep": "new2"})
        first, second = runs
        self.assertEqual((first.run_id, first.summary_metric, first.tags, first.config), ("r1", 0.25, ("mo-a-s1-a1",),
                                                                                         {"lr": 0.01}))
        self.assertEqual(first.heartbeat_at, datetime.datetime(2026, 11, 22, 10, tzinfo=datetime.timezone.utc))
        self.assertEqual(first.last_logged_at, datetime.datetime.fromtimestamp(1795000000, datetime.timezone.utc))
        self.assertIsNone(second.summary_metric)

    def test_vast_listing_is_parsed_and_a_failure_is_retryable(self):
        from metaopt_lib.executor.cloud.real_sky import VastClient

        rows = [{"id": 7, "label": "mo-x-1a2b3c4d-s1-a1-ab12cd34-head", "actual_status": "running",
                 "dph_total": 0.512, "start_date": 1795000000.0}]

        def runner(argv, **kw):
            self.assertEqual(argv[1:], ["show", "instances", "--raw"])
            return mock.Mock(returncode=0, stdout=json.dumps(rows), stderr="")

        (instance,) = VastClient({}, runner, executable="/bin/vastai").list_instances()
        self.assertEqual((instance.instance_id, instance.hourly_price_usd), ("7", 0.512))
        self.assertEqual(instance.started_at, datetime.datetime.fromtimestamp(1795000000, datetime.timezone.utc))
        failing = VastClient({}, lambda argv, **kw: mock.Mock(returncode=1, stdout="", stderr="401 unauthorized"),
                             executable="/bin/vastai")
        with self.assertRaises(CloudError) as caught:
            failing.list_instances()
        self.assertTrue(caught.exception.retryable)
        garbled = VastClient({}, lambda argv, **kw: mock.Mock(returncode=0, stdout="{}", stderr=""),
                             executable="/bin/vastai")
        with self.assertRaises(CloudError):
            garbled.list_instances()
        with self.assertRaises(CloudError) as caught:
            VastClient({"PATH": "/nonexistent"}).list_instances()
        self.assertEqual(caught.exception.code, "dependency-missing")


if __name__ == "__main__":
    unittest.main()
