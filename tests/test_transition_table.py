"""Table-driven over machine.TRANSITIONS: every generic transition is produced by the real handoffs
and applies to a valid state (the specific ones are covered phase by phase in test_handoff_*)."""
import copy
import json
import unittest

import support

from metaopt_lib.contract import machine
from metaopt_lib.control import engine
from metaopt_lib.handoffs import HANDOFFS
from metaopt_lib.handoffs.common import Inputs

NOW = "2026-11-22T12:00:00Z"


def fixture_state(machine_state):
    name = machine_state.lower().replace("_", "-") + ".json"
    return json.loads((support.FIXTURES / "state" / "valid" / name).read_text())


class GenericTransitions(unittest.TestCase):
    def test_every_revalidating_state_blocks_config_on_an_identity_change_or_invalid_campaign(self):
        rows = [t for t in machine.TRANSITIONS if t.target == "BLOCKED_CONFIG" and t.guard.startswith("campaign_invalid")
                and t.source != machine.INITIAL_STATE]
        self.assertEqual({t.source for t in rows}, set(machine.RUNNING_STATES) - {machine.INITIAL_STATE})
        changed = support.fixture_campaign(**{"wandb.project": "another-project"})
        for transition in rows:
            for label, campaign, inputs in (("identity changed", changed, Inputs(now=NOW)),
                                            ("campaign invalid", None, Inputs(now=NOW))):
                with self.subTest(transition=transition.source, case=label):
                    state = fixture_state(transition.source)
                    envelope = HANDOFFS[machine.governing_agent(transition.source)](state, campaign, inputs)
                    new = engine.apply_envelope(state, envelope, NOW)
                    self.assertEqual((new["machine_state"], new["status"]), ("BLOCKED_CONFIG", "BLOCKED_CONFIG"))
                    self.assertEqual((new["block"]["resume_state"], new["block"]["resume_phase"]),
                                     (state["machine_state"], state["phase"]))
                    self.assertEqual(new["history"], state["history"])
                    self.assertEqual(new["spend_ledger"], state["spend_ledger"])
                    cleanup = {d["type"] for d in envelope["directives"]}
                    self.assertTrue({"remove_agents_hook", "emit_final_report"} <= cleanup)
                    live = state["current_sweep"] is not None and state["current_sweep"]["resources_live"]
                    self.assertEqual("teardown" in cleanup, live)

    def test_every_resume_transition_returns_to_its_recorded_point(self):
        from metaopt_lib.control import driver
        from metaopt_lib.control.resume import resume_stopped
        import tempfile
        from pathlib import Path
        rows = [t for t in machine.TRANSITIONS if t.guard == "resume_after_fix"]
        self.assertEqual({(t.source, t.target) for t in rows},
                         {(b, r) for b in machine.BLOCKED_STATES for r in machine.RUNNING_STATES})
        campaign_text = (support.FIXTURES / "campaign" / "valid" / "full-local.yaml").read_text()
        for transition in rows:
            with self.subTest(transition=f"{transition.source}->{transition.target}"):
                state = fixture_state("BLOCKED_CONFIG")
                state["machine_state"] = state["status"] = state["terminal"]["state"] = transition.source
                state["block"].update(resume_state=transition.target,
                                      resume_phase=machine.phases_of(transition.target)[0])
                target_state = fixture_state(transition.target)
                for field in ("hydration", "selected_sweep", "current_sweep", "analysis", "iteration"):
                    state[field] = copy.deepcopy(target_state[field])
                with tempfile.TemporaryDirectory() as tmp:
                    root = Path(tmp)
                    (root / "ml_metaopt_campaign.yaml").write_text(campaign_text)
                    (root / ".ml-metaopt").mkdir()
                    (root / ".ml-metaopt" / "state.json").write_text(json.dumps(state))
                    resumed, _ = driver.locked(root, lambda cdir: resume_stopped(cdir, NOW))
                    self.assertEqual((resumed["machine_state"], resumed["status"]), (transition.target, "RUNNING"))
                    self.assertEqual(resumed["phase"], machine.phases_of(transition.target)[0])
                    self.assertEqual(json.loads((root / ".ml-metaopt" / "state.json").read_text()), resumed)


if __name__ == "__main__":
    unittest.main()
