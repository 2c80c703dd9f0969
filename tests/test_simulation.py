"""End to end: a host that only loops on `metaopt.py step` (and dispatches workers) runs whole campaigns
to every terminal state; so does a host that runs the executor itself (--no-executor).

The default five-iteration campaign runs once per test process (default_campaign()); the tests that
read it only read it."""
import atexit
import json
import tempfile
import time

import yaml
import unittest
from pathlib import Path

import support  # noqa: F401
import sim_host
from sim_host import Host, Scenario, write_preflight, write_project

from metaopt_lib.contract import machine, validation
from metaopt_lib.contract.locks import is_locked
from metaopt_lib.control import driver, read_views


EXECUTOR_DIRECTIVES = ("run_smoke_test", "launch_sweep", "poll_sweep", "teardown")


def journal(root):
    return [json.loads(line) for line in (Path(root) / ".ml-metaopt" / "journal.jsonl").read_text().splitlines()]


def state_of(root):
    return support.campaign_view(root)


_DEFAULT = {}


def default_campaign():
    """(project root, host, last step output) of the default campaign, run once per process."""
    if not _DEFAULT:
        tmp = tempfile.TemporaryDirectory()
        atexit.register(tmp.cleanup)
        root = Path(tmp.name) / "default"
        root.mkdir()
        write_project(root)
        host = Host(root)
        _DEFAULT.update(root=root, host=host, final=host.run())
    return _DEFAULT["root"], _DEFAULT["host"], _DEFAULT["final"]


class DefaultCampaign(unittest.TestCase):
    """The default scenario: five iterations, each sweep ends at its second poll."""

    def test_five_iterations_through_every_state_to_complete(self):
        root, _, final = default_campaign()
        state = state_of(root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual([r["iteration"] for r in state["completed_iterations"]], [1, 2, 3, 4, 5])
        winners = [r["proposal_content_hash"] for r in state["completed_iterations"]]
        self.assertEqual(len(set(winners)), 5, "a search space won twice")
        visited = {e.get("from") for e in journal(root)} | {e.get("to") for e in journal(root)}
        self.assertTrue(set(machine.RUNNING_STATES) <= visited, set(machine.RUNNING_STATES) - visited)
        self.assertEqual(state["baseline"]["metric_value"], 0.65)
        sweeps = json.loads((root / ".sim" / "sweeps.json").read_text())
        sweeps.pop("_results")
        self.assertEqual(sorted(sweeps), [f"sim-campaign-iter-{i}" for i in range(1, 6)])
        self.assertTrue(all(s["launches"] == 1 for s in sweeps.values()))
        self.assertAlmostEqual(state["spend_ledger"]["total_usd"], 5 * 2 * 0.05)
        self.assertTrue((root / ".ml-metaopt" / "reports" / "final.md").exists())
        self.assertTrue((root / ".ml-metaopt" / "reports" / "iteration-5.md").exists())
        self.assertFalse((root / "AGENTS.md").exists(), "the AGENTS.md hook block is removed at the end")

    def test_each_iteration_takes_at_most_four_steps_and_seven_host_calls(self):
        _, host, _ = default_campaign()
        kinds = [json.loads(text)["action"]["kind"] for _, text in host.outputs]
        self.assertEqual(set(kinds), {"dispatch_workers", "stop"}, "the host ran no executor and slept for none")
        self.assertLessEqual(len(host.outputs) / 5, 4)
        self.assertLessEqual(host.tool_calls / 5, 7)

    def test_step_output_stays_small_and_does_not_grow_with_history(self):
        _, host, _ = default_campaign()
        sizes = [len(text) for _, text in host.outputs]
        self.assertLess(max(sizes), 4000)
        first_iteration, last_iteration = sizes[: len(sizes) // 5], sizes[-len(sizes) // 5:]
        self.assertLess(max(last_iteration), max(first_iteration) * 1.5)


class Simulation(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)

    def run_campaign(self, scenario=None, **overrides):
        write_project(self.root, scenario, **overrides)
        self.host = Host(self.root)
        return self.host.run()

    def test_every_executor_run_is_journaled_and_the_status_shows_them(self):
        write_project(self.root)
        host = Host(self.root)
        while True:  # up to the first analysis dispatch: the step ran smoke test, launch and polls
            _, document = host.step()
            if document["machine_state"] == "ANALYZE":
                break
            host.act(document["action"])
        entries = [e for e in journal(self.root) if e.get("event") == "executor"]
        self.assertEqual([e["type"] for e in entries], ["run_smoke_test", "launch_sweep", "poll_sweep", "poll_sweep"])
        archived = {p.stem for p in (self.root / ".ml-metaopt" / "archive").rglob("*.json") if "directives" in p.parts}
        for entry in entries:
            self.assertIn(entry["id"], archived)
            self.assertEqual((entry["exit_code"], entry["result"]), (0, "ok"))
            self.assertIsInstance(entry["seconds"], float)
            self.assertIn(entry["id"], entry["summary"])
        self.assertIn("finished: 2 finished", entries[-1]["summary"])
        recent = read_views.status(self.root)["recent"]
        self.assertTrue(any("executor poll_sweep" in line for line in recent), recent)

    def test_the_end_of_a_sweep_is_acted_on_at_once(self):
        # The poll that saw the sweep end and the analysis dispatch happen at the same moment: no wait
        # for a poll interval in between. The poll before it waited for the end itself (60 s).
        write_project(self.root, **{"stop_conditions.max_iterations": 1})
        Host(self.root).run()
        entries = journal(self.root)
        polls = [i for i, e in enumerate(entries) if e.get("event") == "executor" and e["type"] == "poll_sweep"]
        self.assertEqual(len(polls), 2)
        analysis = next(e for e in entries[polls[-1]:] if e.get("to") == "ANALYZE")
        self.assertEqual(analysis["at"], entries[polls[-1]]["at"])
        launch = next(e for e in entries if e.get("event") == "executor" and e["type"] == "launch_sweep")
        held = sim_host.parse_time(entries[polls[0]]["at"]) - sim_host.parse_time(launch["at"])
        self.assertEqual(held.total_seconds(), 60)

    def test_a_step_returns_at_its_wait_bound_with_the_sweeps_progress(self):
        write_project(self.root, Scenario(polls_to_finish=12), **{"stop_conditions.max_iterations": 1})
        host = Host(self.root, max_wait=30)
        final = host.run()
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        waits = [json.loads(text) for _, text in host.outputs if json.loads(text)["action"]["kind"] == "step"]
        self.assertTrue(waits, "a 60 s poll never fits in a 30 s bound")
        for document in waits:
            self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
            progress = document["action"]["progress"]
            self.assertEqual(progress["run_cap"], 4)
            self.assertEqual(progress["max_budget_usd"], 5.0)
            self.assertIn(f"{progress['sweep_identity']} running: {progress['trials_finished']} of 4", document["summary"])

    def test_a_silent_worker_costs_one_retry_and_a_rejected_one_says_why(self):
        final = self.run_campaign(Scenario(silent_workers=1, wrong_metric_workers=1),
                                  **{"stop_conditions.max_iterations": 1})
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        tasks = sorted((self.root / ".ml-metaopt" / "archive" / "tasks" / "iter-1").glob("ideation-*.json"))
        retries = [json.loads(p.read_text()) for p in tasks if json.loads(p.read_text())["attempt"] == 2]
        self.assertEqual(sorted(t["previous_errors"][0]["rule"] for t in retries),
                         ["sweep.metric_name_mismatch", "worker.no_result"])
        # The retries went out in the very next step: no wait for the 30-minute worker timeout.
        summaries = [json.loads(text)["summary"] for _, text in self.host.outputs]
        self.assertIn("worker.no_result", summaries[1])
        self.assertIn("sweep.metric_name_mismatch", summaries[1])
        self.assertTrue(any("sweep.metric_name_mismatch" in e.get("summary", "") for e in journal(self.root)))
        self.assertLess(sim_host.parse_time(state_of(self.root)["updated_at"]) - sim_host.parse_time(sim_host.START),
                        sim_host.parse_time("2026-01-01T00:30:00Z") - sim_host.parse_time("2026-01-01T00:00:00Z"))

    def test_a_failed_smoke_test_blocks_without_any_launch_and_resume_runs_it_again(self):
        final = self.run_campaign(Scenario(smoke_passes=False), **{"stop_conditions.max_iterations": 1})
        self.assertEqual(final["action"]["terminal_state"], "BLOCKED_CONFIG")
        state = state_of(self.root)
        self.assertEqual(state["block"]["code"], "smoke-test-failed")
        self.assertIn("Traceback: boom", state["block"]["reason"])
        self.assertIsNotNone(state["selected_sweep"], "the selected sweep is kept")
        sweeps = json.loads((self.root / ".sim" / "sweeps.json").read_text())
        self.assertEqual([k for k in sweeps if not k.startswith("_")], [])
        self.assertEqual(list((self.root / ".ml-metaopt").rglob("launch-*")), [])
        # The user fixes the program; resume runs the smoke test again, then the campaign goes on.
        (self.root / ".sim" / "scenario.json").write_text(json.dumps(Scenario().__dict__))
        code, _ = Host(self.root).step("resume")
        self.assertEqual(code, 0)
        final = Host(self.root).run()
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        smoke_runs = [e for e in journal(self.root) if e.get("event") == "executor" and e["type"] == "run_smoke_test"]
        self.assertEqual(len(smoke_runs), 2)
        self.assertEqual(state_of(self.root)["completed_iterations"][0]["proposal_id"],
                         state["selected_sweep"]["proposal_id"])

    def test_missing_preflight_blocks_config_and_resume_continues_after_the_fix(self):
        one = {"stop_conditions.max_iterations": 1}
        write_project(self.root, preflight=False, **one)
        final = Host(self.root).run()
        self.assertEqual(final["action"]["terminal_state"], "BLOCKED_CONFIG")
        self.assertEqual(state_of(self.root)["block"]["code"], "preflight-missing")
        write_preflight(self.root, sim_host.campaign_document(**one))
        code, document = Host(self.root).step("resume")
        self.assertEqual(code, 0, document)
        resumed = [e for e in journal(self.root) if e.get("event") == "resume"]
        self.assertEqual([(e["from"], e["to"]) for e in resumed], [("BLOCKED_CONFIG", "LOAD_CAMPAIGN")])
        self.assertEqual(Host(self.root).run()["action"]["terminal_state"], "COMPLETE")

    def test_budget_exhaustion_completes_and_tears_down(self):
        final = self.run_campaign(Scenario(spend_per_poll=0.9), **{"compute.max_budget_usd": 2.0})
        state = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertGreaterEqual(state["spend_ledger"]["total_usd"], 2.0)
        self.assertTrue(list((self.root / ".ml-metaopt" / "archive").rglob("teardown-*.json")))

    def test_a_poll_still_running_at_the_cap_is_a_budget_stop_with_teardown(self):
        final = self.run_campaign(Scenario(spend_per_poll=0.9, running_at_cap=True, polls_to_finish=5),
                                  **{"compute.max_budget_usd": 2.0})
        state = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE", final)
        self.assertIn("Budget exhausted", state["terminal"]["reason"])
        self.assertGreaterEqual(state["spend_ledger"]["total_usd"], 2.0)
        self.assertEqual((state["current_sweep"]["status"], state["current_sweep"]["resources_live"]),
                         ("torn_down", False), "after the teardown the state says the sweep is down")
        teardowns = [e for e in journal(self.root) if e.get("event") == "executor" and e["type"] == "teardown"]
        self.assertEqual([e["result"] for e in teardowns], ["ok"])

    def test_a_failed_cleanup_teardown_is_run_again_until_it_succeeds(self):
        for no_executor in (False, True):
            with self.subTest(no_executor=no_executor):
                root = self.root / f"no-executor-{no_executor}"
                root.mkdir()
                write_project(root, Scenario(poll_failures=99, teardown_failures=2),
                              **{"stop_conditions.max_iterations": 1})
                host = Host(root, no_executor=no_executor)
                outputs = []
                for _ in range(100):
                    _, document = host.step()
                    outputs.append(document)
                    if document["action"]["kind"] == "stop" and not state_of(root)["pending"]:
                        break
                    if document["machine_state"] == "BLOCKED_PROTOCOL" and state_of(root)["pending"]:
                        code, refused = host.step("resume")
                        self.assertEqual((code, refused["error"]["code"]), (1, "cleanup-pending"))
                    host.act(document["action"])
                blocked = [d for d in outputs if d["machine_state"] == "BLOCKED_PROTOCOL"]
                # Two failed teardowns, each followed by another attempt, then one that succeeded.
                runs = [e for e in journal(root) if e.get("event") == "executor" and e["type"] == "teardown"]
                if no_executor:
                    self.assertEqual([d["action"]["kind"] for d in blocked], ["run_executor"] * 3 + ["stop"])
                else:
                    self.assertEqual([e["result"] for e in runs], ["failed", "failed", "ok"])
                    self.assertEqual([d["action"]["kind"] for d in blocked], ["stop"] * 3)
                    self.assertIn("teardown", blocked[0]["action"]["user_can"][0])
                    self.assertNotIn("teardown", " ".join(blocked[-1]["action"]["user_can"]))
                self.assertEqual(state_of(root)["pending"], [])

    def test_plateau_stops_the_campaign(self):
        final = self.run_campaign(Scenario(metrics=[0.5, 0.6, 0.6, 0.7, 0.8]),
                                  **{"stop_conditions.no_improve_iterations": 2})
        state = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual(len(state["completed_iterations"]), 3)
        self.assertEqual(state["baseline"]["metric_value"], 0.5)

    def test_transient_poll_errors_are_retried(self):
        final = self.run_campaign(Scenario(poll_failures=2), **{"stop_conditions.max_iterations": 1})
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")

    def test_persistent_poll_errors_block_protocol_with_teardown(self):
        final = self.run_campaign(Scenario(poll_failures=99), **{"stop_conditions.max_iterations": 1})
        self.assertEqual(final["action"]["terminal_state"], "BLOCKED_PROTOCOL")
        self.assertEqual(state_of(self.root)["block"]["code"], "poll-attempts-exhausted")
        sweep = state_of(self.root)["current_sweep"]
        self.assertEqual((sweep["status"], sweep["resources_live"]), ("torn_down", False))

    def _run_until_iterations(self, count):
        host = Host(self.root)
        for _ in range(400):
            _, document = host.step()
            if len(state_of(self.root)["completed_iterations"]) >= count:
                return
            host.act(document["action"])
        self.fail("not enough iterations")

    def test_changed_stop_conditions_and_compute_take_effect_mid_campaign(self):
        write_project(self.root)
        self._run_until_iterations(1)
        path = self.root / "ml_metaopt_campaign.yaml"
        document = yaml.safe_load(path.read_text())
        document["stop_conditions"]["max_iterations"] = 2
        document["compute"]["run_cap"] = 3
        path.write_text(yaml.safe_dump(document))
        final = Host(self.root).run()
        state = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual(len(state["completed_iterations"]), 2)
        launches = sorted((self.root / ".ml-metaopt" / "archive").rglob("launch-2-*.json"))
        caps = {json.loads(p.read_text())["payload"]["sweep_config"]["run_cap"]
                for p in launches if "directives" in p.parts}
        self.assertEqual(caps, {3})

    def test_identity_change_blocks_config_and_keeps_progress(self):
        write_project(self.root, **{"stop_conditions.max_iterations": 2})
        host = Host(self.root)
        for _ in range(400):
            code, document = host.step()
            if state_of(self.root)["completed_iterations"]:
                break
            host.act(document["action"])
        before = state_of(self.root)["completed_iterations"]
        text = (self.root / "ml_metaopt_campaign.yaml").read_text().replace("val_loss", "val_acc")
        (self.root / "ml_metaopt_campaign.yaml").write_text(text)
        final = Host(self.root).run()
        self.assertEqual(final["action"]["terminal_state"], "BLOCKED_CONFIG")
        self.assertEqual(state_of(self.root)["completed_iterations"], before)
        (self.root / "ml_metaopt_campaign.yaml").write_text(text.replace("val_acc", "val_loss"))
        self.assertEqual(Host(self.root).step("resume")[0], 0)
        self.assertEqual(Host(self.root).run()["action"]["terminal_state"], "COMPLETE")


class ContinueOrStartOver(unittest.TestCase):
    """Every stop can be continued (resume, once its limit is raised) or restarted (reset)."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)

    def edit_campaign(self, **changes):
        path = self.root / "ml_metaopt_campaign.yaml"
        path.write_text(yaml.safe_dump(support.set_dotted(yaml.safe_load(path.read_text()), changes)))

    def test_a_budget_stop_resumes_from_the_recorded_state_once_the_budget_was_raised(self):
        write_project(self.root, Scenario(spend_per_poll=0.9), **{"compute.max_budget_usd": 2.0,
                                                                 "stop_conditions.max_iterations": 3})
        final = Host(self.root).run()
        stopped = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual(stopped["terminal"]["resume"], {"resume_state": "ANALYZE", "resume_phase": "plan_analysis",
                                                         "limits": ["budget"]})
        self.assertTrue(any("compute.max_budget_usd" in line and "resume" in line
                            for line in final["action"]["user_can"]), final["action"]["user_can"])
        code, refused = Host(self.root).step("resume")
        self.assertEqual((code, refused["error"]["code"]), (1, "not-resumable"))
        self.assertEqual(state_of(self.root), stopped, "a refused resume changes nothing")
        self.edit_campaign(**{"compute.max_budget_usd": 20.0})
        code, _ = Host(self.root).step("resume")
        self.assertEqual(code, 0)
        final = Host(self.root).run()
        state = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertIn("max_iterations", state["terminal"]["reason"])
        # The sweep the budget cut was analyzed with what it had, then the campaign went on.
        self.assertEqual([r["iteration"] for r in state["completed_iterations"]], [1, 2, 3])
        self.assertEqual(state["spend_ledger"]["entries"][:2], stopped["spend_ledger"]["entries"])
        self.assertGreater(state["spend_ledger"]["total_usd"], stopped["spend_ledger"]["total_usd"],
                           "the ledger went on from where it was, never reset")
        sweeps = json.loads((self.root / ".sim" / "sweeps.json").read_text())
        self.assertEqual({k: v["launches"] for k, v in sweeps.items() if not k.startswith("_")},
                         {f"sim-campaign-iter-{i}": 1 for i in (1, 2, 3)})

    def test_an_iteration_limit_raised_lets_the_campaign_run_one_more_iteration(self):
        write_project(self.root, **{"stop_conditions.max_iterations": 1})
        Host(self.root).run()
        self.assertEqual(state_of(self.root)["terminal"]["resume"]["limits"], ["max_iterations"])
        self.edit_campaign(**{"stop_conditions.max_iterations": 2})
        self.assertEqual(Host(self.root).step("resume")[0], 0)
        final = Host(self.root).run()
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual([r["iteration"] for r in state_of(self.root)["completed_iterations"]], [1, 2])

    def test_reset_archives_the_campaign_and_the_next_step_starts_afresh(self):
        write_project(self.root, Scenario(smoke_passes=False), **{"stop_conditions.max_iterations": 1})
        Host(self.root).run()
        before = state_of(self.root)
        state_bytes = (self.root / ".ml-metaopt" / "state.json").read_bytes()
        code, document = Host(self.root).step("reset")
        self.assertEqual(code, 0, document)
        self.assertEqual(validation.validate_document("step-output", document, "reset output"), [])
        archive = self.root / document["reset"]["archive"]
        self.assertEqual((archive / "state.json").read_bytes(), state_bytes)
        self.assertTrue((archive / "journal.jsonl").is_file())
        self.assertEqual(sorted(p.name for p in (self.root / ".ml-metaopt").iterdir()),
                         ["archive", "lock", "preflight-readiness.json"])
        self.assertFalse((self.root / "AGENTS.md").exists())
        (self.root / ".sim" / "scenario.json").write_text(json.dumps(Scenario().__dict__))
        final = Host(self.root).run()
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual(state_of(self.root)["created_at"] >= before["created_at"], True)
        self.assertEqual(len(state_of(self.root)["completed_iterations"]), 1)

    def wait_for_executor_children(self):
        """Until the executor children of earlier steps are done: each pending executor directive has its
        result, and no child holds the directive's lock any more. Under max_wait 0 a step leaves its child
        running; on a loaded machine the child may still be at work when the test steps or looks again."""
        if not (self.root / ".ml-metaopt" / "state.json").exists():
            return
        pending = [r for r in state_of(self.root)["pending"] if r["name"] in EXECUTOR_DIRECTIVES]
        deadline = time.monotonic() + 120
        while any(not (self.root / r["result_path"]).exists() or is_locked(self.root / r["spec_path"])
                  for r in pending):
            self.assertLess(time.monotonic(), deadline, "an executor child did not finish")
            time.sleep(0.02)

    def test_reset_is_refused_while_a_sweep_may_still_run(self):
        write_project(self.root, Scenario(polls_to_finish=50), **{"stop_conditions.max_iterations": 1})
        host = Host(self.root, max_wait=0)
        for _ in range(20):
            self.wait_for_executor_children()
            _, document = host.step()
            if state_of(self.root)["current_sweep"] and state_of(self.root)["current_sweep"]["resources_live"]:
                break
            host.act(document["action"])
        else:
            self.fail("the sweep was never launched")
        # So that the listing changes only if the refused reset changed something, not by the launch's
        # child writing its result after it.
        self.wait_for_executor_children()
        files = sorted(p.relative_to(self.root) for p in (self.root / ".ml-metaopt").rglob("*"))
        code, refused = host.step("reset")
        self.assertEqual((code, refused["error"]["code"]), (1, "reset-refused"))
        self.assertEqual(sorted(p.relative_to(self.root) for p in (self.root / ".ml-metaopt").rglob("*")), files)


class HostRunsTheExecutor(unittest.TestCase):
    """--no-executor: the step hands every executor command to the host and reaches the same ends."""

    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)

    def run_both(self, scenario=None, preflight=True, **overrides):
        ends = {}
        for no_executor in (False, True):
            if no_executor is False and (scenario, preflight, overrides) == (None, True, {}):
                root, host, final = default_campaign()  # the same campaign, already run once
            else:
                root = self.tmp / f"no-executor-{no_executor}"
                root.mkdir()
                write_project(root, scenario, preflight, **overrides)
                host = Host(root, no_executor=no_executor)
                final = host.run()
            kinds = {json.loads(text)["action"]["kind"] for _, text in host.outputs}
            ran_inside = [e for e in journal(root) if e.get("event") == "executor"]
            if no_executor:
                self.assertEqual(ran_inside, [], "the step started the executor itself")
            else:
                self.assertNotIn("run_executor", kinds)
            state = state_of(root)
            ends[no_executor] = (final["action"]["terminal_state"], state["iteration"],
                                 state["baseline"]["metric_value"] if state["baseline"] else None,
                                 state["spend_ledger"]["total_usd"], len(state["completed_iterations"]))
        self.assertEqual(ends[True], ends[False])
        return ends[True][0]

    def test_complete(self):
        self.assertEqual(self.run_both(), "COMPLETE")

    def test_failed(self):
        self.assertEqual(self.run_both(Scenario(sweep_fails=True)), "FAILED")

    def test_blocked_config_by_the_smoke_test(self):
        self.assertEqual(self.run_both(Scenario(smoke_passes=False)), "BLOCKED_CONFIG")

    def test_blocked_config(self):
        self.assertEqual(self.run_both(preflight=False), "BLOCKED_CONFIG")

    def test_blocked_protocol(self):
        self.assertEqual(self.run_both(Scenario(poll_failures=99), **{"stop_conditions.max_iterations": 1}),
                         "BLOCKED_PROTOCOL")


if __name__ == "__main__":
    unittest.main()
