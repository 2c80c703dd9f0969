"""engine.apply_envelope: explicit patch semantics, pending bookkeeping, refusals that change nothing."""
import copy
import json
import unittest

import support

from metaopt_lib.contract.issues import ContractError
from metaopt_lib.control import engine

NOW = "2026-11-22T11:35:00Z"


def _load(kind, name):
    return json.loads((support.FIXTURES / kind / "valid" / name).read_text())


class ApplyEnvelope(unittest.TestCase):
    def setUp(self):
        self.state = _load("state", "wait-for-sweep.json")
        self.envelope = _load("handoff-envelope", "advance-against-current-state.json")

    def test_advance_moves_state_phase_sequence_and_applies_the_patch(self):
        new = engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertEqual((new["machine_state"], new["phase"], new["status"]), ("ANALYZE", "plan_analysis", "RUNNING"))
        self.assertEqual(new["step_seq"], self.state["step_seq"] + 1)
        self.assertEqual(new["current_sweep"]["status"], "finished")
        self.assertEqual(new["spend_ledger"]["total_usd"], 0.77)
        self.assertEqual(new["pending"], [])
        self.assertEqual(new["updated_at"], NOW)

    def test_input_state_is_never_mutated(self):
        before = copy.deepcopy(self.state)
        engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertEqual(self.state, before)

    def test_set_replaces_the_whole_value_no_deep_merge(self):
        self.envelope["state_patch"] = [{"op": "set", "path": "/current_sweep/trials",
                                         "value": {"finished": 9, "running": 0, "failed": 0, "killed": 0}}]
        new = engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertEqual(new["current_sweep"]["trials"], {"finished": 9, "running": 0, "failed": 0, "killed": 0})

    def test_append_adds_one_item(self):
        self.envelope["agent"] = "metaopt-remote-execution-control"
        entry = {"sweep_identity": "cifar10-resnet-iter-3", "iteration": 2, "usd": 0.0, "complete": True,
                 "updated_at": NOW}
        self.envelope["state_patch"] = [{"op": "append", "path": "/spend_ledger/entries", "value": entry}]
        new = engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertEqual(new["spend_ledger"]["entries"][-1], entry)
        self.assertEqual(len(new["spend_ledger"]["entries"]), len(self.state["spend_ledger"]["entries"]) + 1)

    def test_delete_removes_an_object_member(self):
        self.envelope["state_patch"] = [{"op": "delete", "path": "/current_sweep/best_run/run_url"}]
        new = engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertNotIn("run_url", new["current_sweep"]["best_run"])

    def test_a_pointer_that_does_not_fit_is_refused(self):
        for path in ("/current_sweep/nope/deeper", "/spend_ledger/entries/9/usd", "/spend_ledger/entries/x/usd"):
            with self.subTest(path=path):
                self.envelope["state_patch"] = [{"op": "set", "path": path, "value": 1}]
                with self.assertRaises(ContractError) as caught:
                    engine.apply_envelope(self.state, self.envelope, NOW)
                self.assertEqual(caught.exception.issues[0].rule, "envelope.patch_path_invalid")

    def test_a_patch_that_breaks_the_state_is_refused(self):
        self.envelope["state_patch"] = [{"op": "set", "path": "/spend_ledger/total_usd", "value": 123.0}]
        with self.assertRaises(ContractError) as caught:
            engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertIn("state.ledger_total_mismatch", [i.rule for i in caught.exception.issues])

    def test_a_stale_envelope_is_refused(self):
        self.envelope["computed_against_seq"] -= 1
        with self.assertRaises(ContractError) as caught:
            engine.apply_envelope(self.state, self.envelope, NOW)
        self.assertEqual(caught.exception.issues[0].rule, "envelope.stale")

    def test_directives_and_tasks_become_pending_records_with_iteration_scoped_paths(self):
        envelope = _load("handoff-envelope", "dispatch-ideation-workers.json")
        state = _load("state", "ideate.json")
        envelope["computed_against_seq"] = state["step_seq"]
        new = engine.apply_envelope(state, envelope, NOW)
        tasks = [p for p in new["pending"] if p["kind"] == "worker_task"]
        self.assertEqual(len(tasks), len(envelope["worker_launches"]))
        for record in tasks:
            self.assertEqual((record["created_seq"], record["created_at"]), (new["step_seq"], NOW))
            self.assertIn(f"/iter-{record['iteration']}/", record["result_path"])

    def test_blocked_records_where_and_how_to_resume(self):
        state = _load("state", "wait-for-proposals.json")
        envelope = _load("handoff-envelope", "blocked-protocol.json")
        envelope["computed_against_seq"] = state["step_seq"]
        envelope["resolved_pending"] = [{"id": p["id"], "disposition": "superseded"} for p in state["pending"]]
        new = engine.apply_envelope(state, envelope, NOW)
        self.assertEqual(new["status"], "BLOCKED_PROTOCOL")
        self.assertEqual(new["block"]["resume_state"], envelope["block"]["resume_state"])
        self.assertEqual(new["block"]["source_agent"], envelope["agent"])
        self.assertEqual(new["terminal"]["state"], "BLOCKED_PROTOCOL")


class InitialState(unittest.TestCase):
    def test_initial_state_is_valid_and_starts_at_load_campaign(self):
        from metaopt_lib.contract import campaign as campaign_lib
        campaign = campaign_lib.apply_defaults(support.validation.load_valid(
            "campaign", support.FIXTURES / "campaign" / "valid" / "minimal.yaml"))
        state = engine.initial_state(campaign, campaign_lib.identity_hash(campaign),
                                     campaign_lib.runtime_config_hash(campaign), NOW)
        engine.check_state(state, "initial")
        self.assertEqual((state["machine_state"], state["iteration"], state["spend_ledger"]["total_usd"]),
                         ("LOAD_CAMPAIGN", 1, 0))


if __name__ == "__main__":
    unittest.main()
