"""LOAD_CAMPAIGN (metaopt-load-campaign) and HYDRATE_STATE (metaopt-hydrate-state) handoffs.

Every envelope is validated against the state it was computed from and applied with the engine,
which proves the next state is valid too.
"""
from __future__ import annotations

import copy
import json
import unittest

import support
from metaopt_lib.contract import campaign as campaign_lib
from metaopt_lib.contract import validation
from metaopt_lib.contract.issues import Issue
from metaopt_lib.control import engine
from metaopt_lib.handoffs import hydrate_state, load_campaign
from metaopt_lib.handoffs.common import Inputs, ResultInput

NOW = "2026-11-22T11:00:00Z"
PREFLIGHT_FIX_PARTS = ("scripts/preflight.py", ".ml-metaopt/preflight-readiness.json", "metaopt.py resume")


def fixture_state(name) -> dict:
    return json.loads((support.FIXTURES / "state" / "valid" / f"{name}.json").read_text(encoding="utf-8"))


def fixture_campaign(edit=None) -> dict:
    """full-local.yaml with defaults applied (the campaign of every state fixture), optionally edited."""
    campaign = campaign_lib.apply_defaults(
        validation.load_valid("campaign", support.FIXTURES / "campaign" / "valid" / "full-local.yaml"))
    if edit:
        edit(campaign)
    return campaign


def preflight_for(campaign, fixture="ready", **overrides) -> ResultInput:
    """A preflight artifact made for `campaign` as it is now (fresh), with optional field overrides."""
    path = support.FIXTURES / "preflight-readiness" / "valid" / f"{fixture}.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    document["campaign_identity_hash"] = campaign_lib.identity_hash(campaign)
    document["runtime_config_hash"] = campaign_lib.runtime_config_hash(campaign)
    document.update(overrides)
    return ResultInput(exists=True, document=document)


def other_wandb_project(campaign):
    campaign["wandb"]["project"] = "another-project"


def bigger_run_cap(campaign):
    campaign["compute"]["run_cap"] = 40


class HandoffCase(unittest.TestCase):
    def apply(self, state, envelope) -> dict:
        issues = validation.validate_document("handoff-envelope", envelope, "envelope", validation.Context(state=state))
        self.assertEqual([i.message for i in issues], [])
        return engine.apply_envelope(state, envelope, NOW)

    def assert_blocked(self, state, envelope, target, code, resume_state, resume_phase) -> dict:
        self.assertEqual((envelope["outcome"], envelope["next_machine_state"]), ("blocked", target))
        self.assertEqual(envelope["block"]["code"], code)
        self.assertEqual((envelope["block"]["resume_state"], envelope["block"]["resume_phase"]),
                         (resume_state, resume_phase))
        self.assertEqual(envelope["next_action"]["kind"], "stop")
        types = {d["type"] for d in envelope["directives"]}
        self.assertTrue({"remove_agents_hook", "emit_final_report"} <= types)
        after = self.apply(state, envelope)
        self.assertEqual(after["machine_state"], target)
        self.assertEqual(after["block"]["code"], code)
        self.assertEqual(after["campaign"], state["campaign"], "a block keeps the recorded campaign")
        return after


class LoadCampaignTest(HandoffCase):
    def test_valid_campaign_with_fresh_ready_preflight_moves_to_hydrate(self):
        state, campaign = fixture_state("load-campaign"), fixture_campaign()
        envelope = load_campaign.handoff(state, campaign, Inputs(now=NOW, preflight=preflight_for(campaign)))
        self.assertEqual((envelope["outcome"], envelope["next_machine_state"], envelope["next_phase"]),
                         ("advance", "HYDRATE_STATE", "hydrate_state"))
        after = self.apply(state, envelope)
        self.assertEqual(after["campaign"], {"name": "cifar10-resnet",
                                             "identity_hash": campaign_lib.identity_hash(campaign),
                                             "runtime_config_hash": campaign_lib.runtime_config_hash(campaign)})

    def test_runtime_change_is_accepted_and_recorded(self):
        state, campaign = fixture_state("load-campaign"), fixture_campaign(bigger_run_cap)
        self.assertNotEqual(campaign_lib.runtime_config_hash(campaign), state["campaign"]["runtime_config_hash"])
        envelope = load_campaign.handoff(state, campaign, Inputs(now=NOW, preflight=preflight_for(campaign)))
        after = self.apply(state, envelope)
        self.assertEqual(after["machine_state"], "HYDRATE_STATE")
        self.assertEqual(after["campaign"]["runtime_config_hash"], campaign_lib.runtime_config_hash(campaign))
        self.assertEqual(after["campaign"]["identity_hash"], state["campaign"]["identity_hash"])

    def test_blocks_with_blocked_config_and_resumes_at_validate_campaign(self):
        campaign = fixture_campaign()
        bad_yaml = Issue("ml_metaopt_campaign.yaml", ("compute", "run_cap"), "schema.required", "run_cap is missing")
        bad_json = Issue("preflight-readiness.json", (), "parse.json", "not valid JSON")
        bad_field = Issue("preflight-readiness.json", ("status",), "schema.enum", "status 'MAYBE' is not allowed")
        failed = preflight_for(campaign, "failed")
        # name, campaign, campaign issues, preflight, code, words the reason names, words the fix names
        cases = [
            ("campaign invalid", None, (bad_yaml,), preflight_for(campaign), "campaign-invalid",
             ("run_cap is missing",), ("scripts/validate.py", "metaopt.py resume")),
            ("campaign invalid, no issue given", None, (), preflight_for(campaign), "campaign-invalid",
             ("invalid",), ("scripts/validate.py", "metaopt.py resume")),
            ("identity changed", fixture_campaign(other_wandb_project), (),
             preflight_for(fixture_campaign(other_wandb_project)), "campaign-identity-changed", ("identity",), ()),
            ("preflight missing", campaign, (), ResultInput(), "preflight-missing",
             ("preflight-readiness.json",), PREFLIGHT_FIX_PARTS),
            ("preflight unreadable", campaign, (), ResultInput(exists=True, issues=(bad_json,)), "preflight-invalid",
             ("not valid JSON",), PREFLIGHT_FIX_PARTS),
            ("preflight breaks its schema", campaign, (),
             ResultInput(exists=True, document={"status": "MAYBE"}, issues=(bad_field,)), "preflight-invalid",
             ("'MAYBE'",), PREFLIGHT_FIX_PARTS),
            ("preflight failed", campaign, (), failed, "preflight-failed",
             (failed.document["failures"][0]["message"], "wandb login"), PREFLIGHT_FIX_PARTS),
            ("preflight for another identity", campaign, (),
             preflight_for(campaign, campaign_identity_hash="sha256:" + "0" * 64), "preflight-stale",
             ("identity",), PREFLIGHT_FIX_PARTS),
            ("preflight for other runtime settings", fixture_campaign(bigger_run_cap), (),
             preflight_for(campaign), "preflight-stale", ("runtime",), PREFLIGHT_FIX_PARTS),
            ("preflight older than seven days", campaign, (),
             preflight_for(campaign, emitted_at="2026-11-15T10:59:59Z"), "preflight-expired",
             ("7 days old", "trusted for 7 days"), PREFLIGHT_FIX_PARTS),
        ]
        for name, current, issues, preflight, code, reason_parts, fix_parts in cases:
            with self.subTest(name):
                state = fixture_state("load-campaign")
                inputs = Inputs(now=NOW, campaign_issues=issues, preflight=preflight)
                envelope = load_campaign.handoff(state, current, inputs)
                self.assert_blocked(state, envelope, "BLOCKED_CONFIG", code, "LOAD_CAMPAIGN", "validate_campaign")
                for part in reason_parts:
                    self.assertIn(part, envelope["block"]["reason"])
                for part in fix_parts:
                    self.assertIn(part, envelope["block"]["fix"])
                self.assertEqual(envelope["state_patch"], [], "a block changes no owned field")


    def test_a_preflight_up_to_seven_days_old_is_accepted(self):
        campaign = fixture_campaign()
        for emitted in ("2026-11-15T11:00:00Z", "2026-11-22T10:59:00Z", "2026-11-23T00:00:00Z"):
            with self.subTest(emitted_at=emitted):
                inputs = Inputs(now=NOW, preflight=preflight_for(campaign, emitted_at=emitted))
                envelope = load_campaign.handoff(fixture_state("load-campaign"), campaign, inputs)
                self.assertEqual(envelope["next_machine_state"], "HYDRATE_STATE")


class HydrateStateTest(HandoffCase):
    def test_records_hydration_and_initial_baseline(self):
        def with_baseline(campaign):
            campaign["objective"]["baseline"] = 0.7

        cases = [("no objective.baseline", None, None),
                 ("objective.baseline", with_baseline, {"metric_value": 0.7, "source": "campaign"})]
        for name, edit, expected in cases:
            with self.subTest(name):
                state, campaign = fixture_state("hydrate-state"), fixture_campaign(edit)
                envelope = hydrate_state.handoff(state, campaign, Inputs(now=NOW))
                self.assertEqual((envelope["outcome"], envelope["next_machine_state"], envelope["next_phase"]),
                                 ("advance", "IDEATE", "plan_ideation"))
                after = self.apply(state, envelope)
                self.assertEqual(after["hydration"], {"hydrated_at": NOW, "initial_baseline": expected})

    def test_asks_for_the_agents_md_hook(self):
        state, campaign = fixture_state("hydrate-state"), fixture_campaign()
        envelope = hydrate_state.handoff(state, campaign, Inputs(now=NOW))
        [directive] = envelope["directives"]
        self.assertEqual(directive["type"], "add_agents_hook")
        payload = directive["payload"]
        self.assertEqual((payload["agents_md_path"], payload["marker"]), ("AGENTS.md", "cifar10-resnet"))
        self.assertIn("cifar10-resnet", payload["text"])
        self.assertRegex(payload["text"], r"python3 /\S+/scripts/metaopt\.py step --project-root \. --json")
        self.assertLessEqual(len(payload["text"]), 2000)
        after = self.apply(state, envelope)
        self.assertEqual([p["name"] for p in after["pending"]], ["add_agents_hook"])

    def test_guard_blocks_on_invalid_or_changed_campaign(self):
        cases = [("campaign invalid", None, "campaign-invalid"),
                 ("identity changed", fixture_campaign(other_wandb_project), "campaign-identity-changed")]
        for name, campaign, code in cases:
            with self.subTest(name):
                state = fixture_state("hydrate-state")
                envelope = hydrate_state.handoff(state, campaign, Inputs(now=NOW))
                after = self.assert_blocked(state, envelope, "BLOCKED_CONFIG", code, "HYDRATE_STATE", "hydrate_state")
                self.assertIsNone(after["hydration"])

    def test_same_inputs_give_the_same_envelope(self):
        state, campaign = fixture_state("hydrate-state"), fixture_campaign()
        first = hydrate_state.handoff(copy.deepcopy(state), campaign, Inputs(now=NOW))
        self.assertEqual(first, hydrate_state.handoff(state, campaign, Inputs(now=NOW)))


if __name__ == "__main__":
    unittest.main()
