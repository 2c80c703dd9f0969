"""Bad input for the engine: every malformed handoff envelope is refused against its state, and
apply_envelope never mutates the state or the envelope it was given."""
import copy
import json
import unittest

import support

from bad_input import with_value, wrong_type
from metaopt_lib.contract import schemas
from metaopt_lib.contract.issues import ContractError
from metaopt_lib.control import engine


ENVELOPES = support.FIXTURES / "handoff-envelope"
NOW = "2026-11-22T10:00:00Z"


def envelope_seeds() -> list:
    """(name, envelope, state) for valid fixtures with the state they apply to."""
    states = {p.stem: json.loads(p.read_text()) for p in (support.FIXTURES / "state" / "valid").glob("*.json")}
    seeds = []
    for path in sorted((ENVELOPES / "valid").glob("*.json")):
        envelope = json.loads(path.read_text())
        for state in states.values():
            if state["machine_state"] != envelope["computed_from_state"]:
                continue
            state = dict(state, step_seq=envelope["computed_against_seq"])
            try:
                engine.apply_envelope(state, envelope, NOW)
            except ContractError:
                continue
            seeds.append((path.stem, envelope, state))
            break
    return seeds


def envelope_cases() -> list:
    """(name, envelope, state): every envelope must be refused against its state."""
    cases = []
    states = {p.stem: json.loads(p.read_text()) for p in (support.FIXTURES / "state" / "valid").glob("*.json")}
    fixture_cases = support.fixture_cases("handoff-envelope")
    for name in sorted(n for n in fixture_cases if n.startswith("invalid/")):
        envelope = json.loads((ENVELOPES / name).read_text())
        named = fixture_cases[name].get("state")
        state = (json.loads((support.ROOT / named).read_text()) if named else
                 next((s for s in states.values() if s["machine_state"] == envelope.get("computed_from_state")),
                      states["wait-for-sweep"]))
        cases.append((name, envelope, state))
    required = schemas.load_schema("handoff-envelope")["required"]
    for seed_name, seed, state in envelope_seeds():
        def add(name, envelope):
            cases.append((f"{seed_name}/{name}", envelope, state))
        for key in required:
            add(f"missing-{key}", with_value(seed, (key,), delete=True))
        for key in seed:
            add(f"wrong-type-{key}", with_value(seed, (key,), 12345 if seed[key] is None else wrong_type(seed[key])))
            add(f"nested-list-{key}", with_value(seed, (key,), [[]]))
        add("unknown-key", dict(seed, unexpected=True))
        add("stale-seq", dict(seed, computed_against_seq=seed["computed_against_seq"] - 1))
        add("huge-seq", dict(seed, computed_against_seq=10 ** 30))
        add("nan-seq", dict(seed, computed_against_seq=float("nan")))
        add("resolves-unknown", dict(seed, resolved_pending=seed["resolved_pending"] + [
            {"id": "ideation-9-99-9", "disposition": "consumed"}]))
        add("patch-nan", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": "/no_improve_streak", "value": float("nan")}]))
        add("patch-path-missing", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": "/current_sweep/nope/deeper", "value": 1}]))
        add("patch-engine-field", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": "/step_seq", "value": 1}]))
        owned = "proposal_pool" if seed["agent"] == "metaopt-background-control" else "current_sweep"
        add("patch-huge-index", dict(seed, state_patch=seed["state_patch"] + [
            {"op": "set", "path": f"/{owned}/{10 ** 30}", "value": 1}]))
        add("summary-multi-line", dict(seed, summary="one\ntwo"))
        add("summary-huge", dict(seed, summary="x" * 100000))
        for escape in (".ml-metaopt/../x.json", "/etc/passwd", "../../x.json"):
            if seed["directives"]:
                directives = copy.deepcopy(seed["directives"])
                directives[0]["result_path"] = escape
                add(f"directive-result-path-{escape}", dict(seed, directives=directives))
            if seed["worker_launches"]:
                launches = copy.deepcopy(seed["worker_launches"])
                launches[0]["task_path"] = escape
                add(f"task-path-{escape}", dict(seed, worker_launches=launches))
                launches = copy.deepcopy(seed["worker_launches"])
                launches[0]["task"]["result_path"] = escape
                add(f"task-result-path-{escape}", dict(seed, worker_launches=launches))
    return cases


class Envelopes(unittest.TestCase):
    def test_seeds_apply(self):
        self.assertGreaterEqual(len(envelope_seeds()), 3, "valid fixtures to mutate")

    def test_malformed_envelopes_are_refused_and_never_mutate_the_state(self):
        cases = envelope_cases()
        for name, envelope, state in cases:
            with self.subTest(case=name):
                state_copy, envelope_copy = copy.deepcopy(state), copy.deepcopy(envelope)
                with self.assertRaises(ContractError) as caught:
                    engine.apply_envelope(state, envelope, NOW)
                self.assertTrue(caught.exception.issues)
                self.assertEqual(repr(state), repr(state_copy), "apply_envelope mutated its input state")
                self.assertEqual(repr(envelope), repr(envelope_copy), "apply_envelope mutated the envelope")
        self.assertGreaterEqual(len(cases), 150)


if __name__ == "__main__":
    unittest.main()
