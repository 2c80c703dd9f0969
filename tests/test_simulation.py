"""End to end: a host that only loops on `metaopt.py step` runs whole campaigns to every terminal state."""
import json
import tempfile

import yaml
import unittest
from pathlib import Path

import support  # noqa: F401
import sim_host
from sim_host import Host, Scenario, write_preflight, write_project

from metaopt_lib.contract import machine


def journal(root):
    return [json.loads(line) for line in (Path(root) / ".ml-metaopt" / "journal.jsonl").read_text().splitlines()]


def state_of(root):
    return json.loads((Path(root) / ".ml-metaopt" / "state.json").read_text())


class Simulation(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)

    def run_campaign(self, scenario=None, **overrides):
        write_project(self.root, scenario, **overrides)
        self.host = Host(self.root)
        return self.host.run()

    def test_five_iterations_through_every_state_to_complete(self):
        final = self.run_campaign()
        state = state_of(self.root)
        self.assertEqual(final["action"]["terminal_state"], "COMPLETE")
        self.assertEqual([r["iteration"] for r in state["completed_iterations"]], [1, 2, 3, 4, 5])
        winners = [r["proposal_content_hash"] for r in state["completed_iterations"]]
        self.assertEqual(len(set(winners)), 5, "a search space won twice")
        visited = {e.get("from") for e in journal(self.root)} | {e.get("to") for e in journal(self.root)}
        self.assertTrue(set(machine.RUNNING_STATES) <= visited, set(machine.RUNNING_STATES) - visited)
        self.assertEqual(state["baseline"]["metric_value"], 0.65)
        sweeps = json.loads((self.root / ".sim" / "sweeps.json").read_text())
        sweeps.pop("_results")
        self.assertEqual(sorted(sweeps), [f"sim-campaign-iter-{i}" for i in range(1, 6)])
        self.assertTrue(all(s["launches"] == 1 for s in sweeps.values()))
        self.assertAlmostEqual(state["spend_ledger"]["total_usd"], 5 * 2 * 0.05)
        self.assertTrue((self.root / ".ml-metaopt" / "reports" / "final.md").exists())
        self.assertTrue((self.root / ".ml-metaopt" / "reports" / "iteration-5.md").exists())
        self.assertFalse((self.root / "AGENTS.md").exists(), "the AGENTS.md hook block is removed at the end")

    def test_step_output_stays_small_and_does_not_grow_with_history(self):
        self.run_campaign()
        sizes = [len(text) for _, text in self.host.outputs]
        self.assertLess(max(sizes), 4000)
        first_iteration, last_iteration = sizes[: len(sizes) // 5], sizes[-len(sizes) // 5:]
        self.assertLess(max(last_iteration), max(first_iteration) * 1.5)

    def test_smoke_failure_ends_in_failed_without_any_launch(self):
        final = self.run_campaign(Scenario(smoke_passes=False))
        self.assertEqual(final["action"]["terminal_state"], "FAILED")
        sweeps = json.loads((self.root / ".sim" / "sweeps.json").read_text())
        self.assertEqual([k for k in sweeps if k != "_results"], [])
        self.assertEqual(list((self.root / ".ml-metaopt").rglob("launch-*")), [])

    def test_missing_preflight_blocks_config_and_resume_continues_after_the_fix(self):
        write_project(self.root, preflight=False)
        final = Host(self.root).run()
        self.assertEqual(final["action"]["terminal_state"], "BLOCKED_CONFIG")
        self.assertEqual(state_of(self.root)["block"]["code"], "preflight-missing")
        write_preflight(self.root, sim_host.campaign_document())
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
        write_project(self.root)
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


if __name__ == "__main__":
    unittest.main()
