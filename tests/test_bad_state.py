"""Bad input for the state reader: every corrupted state.json, through the real driver (step, status,
resume), is refused with a clear error, and not one byte of the project changes."""
import json
import unittest

import support  # noqa: F401

from bad_input import (IDEATION_GATE, IDEATION_GATE_2, POLL_GATE, POLL_GATE_2, STATE, DriverCase, Scratch,
                       dumps, fresh_copy, generic_json_cases, read_state, replaced, tree, value_paths, with_value,
                       write_bytes, wrong_type)
from metaopt_lib.contract import schemas, validation


STATE_POSITIONS = (IDEATION_GATE_2, POLL_GATE_2)


def state_cases(state) -> list:
    """(name, bytes) for one state: every one is an invalid state.json."""
    # A literal null and paths with a trailing newline are known bugs with tests of their own below.
    cases = [c for c in generic_json_cases(state, schemas.load_schema("state")["required"])
             if c[0] != "top-level-null"]
    data = json.dumps(state, indent=2).encode("utf-8")
    cases += [(f"truncated-at-{cut}", data[:cut]) for cut in (2, 100, len(data) // 3, len(data) - 1)]
    cases += [("bom-utf-16", b"\xff\xfe" + json.dumps(state).encode("utf-16-le")),
              ("literal-null-in-list", replaced(data, b'"pending": [', b'"pending": [null, '))]
    for parts, value in [(("step_seq",), float("nan")), (("spend_ledger", "total_usd"), float("inf")),
                         (("spend_ledger", "max_budget_usd"), float("-inf")), (("iteration",), float("nan")),
                         (("pending", 0, "attempt"), float("inf"))]:
        cases.append(("non-finite-" + "-".join(map(str, parts)), dumps(with_value(state, parts, value))))
    cases.append(("number-overflow", replaced(data, b'"no_improve_streak": 0', b'"no_improve_streak": 1e400')))
    for parts in value_paths(state):
        current = state
        for part in parts:
            current = current[part]
        cases.append(("wrong-type-" + "-".join(map(str, parts)), dumps(with_value(state, parts, wrong_type(current)))))
    for key in state["pending"][0]:
        cases.append((f"pending-missing-{key}", dumps(with_value(state, ("pending", 0, key), delete=True))))
    for parts in [("pending", 0, "unexpected"), ("campaign", "unexpected"), ("spend_ledger", "unexpected"),
                  ("hydration", "unexpected")]:
        cases.append(("unknown-key-" + "-".join(map(str, parts)), dumps(with_value(state, parts, True))))
    iteration = state["iteration"]
    for key in ("result_path", "spec_path"):
        for escape in (".ml-metaopt/../x.json", "/etc/passwd", "../../x.json", "~/.ssh/id_rsa",
                       f".ml-metaopt/results/iter-{iteration}/../../../../x.json",
                       f".ml-metaopt/results/iter-{iteration}/../../state.json",
                       f"/tmp/.ml-metaopt/results/iter-{iteration}/x.json",
                       f" .ml-metaopt/results/iter-{iteration}/x.json", "", "."):
            cases.append((f"escaping-{key}-{escape!r}", dumps(with_value(state, ("pending", 0, key), escape))))
    for parts, value in [(("step_seq",), 10 ** 12), (("iteration",), 10 ** 9), (("spend_ledger", "total_usd"), 1e300),
                         (("spend_ledger", "max_budget_usd"), 10 ** 400), (("no_improve_streak",), 10 ** 6),
                         (("pending", 0, "attempt"), 10 ** 9), (("pending", 0, "created_seq"), -1),
                         (("step_seq",), -1), (("campaign", "name"), "x" * 100000)]:
        cases.append(("huge-" + "-".join(map(str, parts)), dumps(with_value(state, parts, value))))
    others = {"machine_state": "BLOCKED_CONFIG", "status": "COMPLETE", "phase": "roll_iteration",
              "schema_version": 3, "updated_at": "2020-01-01T00:00:00Z", "created_at": "2026-13-45T00:00:00Z",
              "block": {"code": "x", "reason": "x", "fix": "x"}, "terminal": {"state": "COMPLETE", "reason": "x",
                                                                             "at": state["updated_at"]}}
    for key, value in others.items():
        cases.append((f"inconsistent-{key}", dumps(with_value(state, (key,), value))))
    cases.append(("duplicate-pending-id", dumps(with_value(state, ("pending",),
                                                           state["pending"] + [dict(state["pending"][0])]))))
    cases.append(("ledger-total-mismatch", dumps(with_value(state, ("spend_ledger", "total_usd"),
                                                            state["spend_ledger"]["total_usd"] + 1))))
    return cases


class StateReader(DriverCase):
    """A corrupted state.json: exit 1, state-invalid, and not one byte of the project changes."""

    def test_every_corrupted_state_is_refused_and_nothing_is_written(self):
        total = 0
        for key, every in zip(STATE_POSITIONS, (1, 3)):
            root = fresh_copy(key)
            good = (root / STATE).read_bytes()
            snapshot = tree(root)
            cases = state_cases(json.loads(good))[::every]
            total += len(cases)
            for index, (name, data) in enumerate(cases):
                with self.subTest(position=key, case=name):
                    write_bytes(root / STATE, data)
                    before = dict(snapshot, **{STATE: data})
                    commands = ("step", "status", "resume") if index % 10 == 0 else ("step",)
                    for command in commands:
                        code, document, err = self.drive(root, command)
                        self.assert_error_report(code, document, "state-invalid")
                        self.assertIn("state.json", document["error"]["message"])
                        self.assertTrue(document["error"]["issues"], "the report names the problems")
                        self.assertIn(document["error"]["message"], err)
                    self.assertEqual(tree(root), before, "the project changed")
            write_bytes(root / STATE, good)
        self.assertGreaterEqual(total, 300)

    def test_reset_puts_a_scratch_project_back(self):
        scratch = Scratch(POLL_GATE)
        before = tree(scratch.root)
        write_bytes(scratch.root / STATE, b"{")
        write_bytes(scratch.root / ".ml-metaopt" / "results" / "iter-1" / "extra.json", b"{}")
        self.assertEqual(tree(scratch.reset()), before)

    def test_text_output_of_a_refused_state_is_a_short_error(self):
        root = fresh_copy(IDEATION_GATE)
        write_bytes(root / STATE, b"{")
        code, text, _ = self.drive(root, json_output=False)
        self.assertEqual(code, 1)
        self.assertTrue(text.startswith("error (state-invalid): "), text)
        self.assertIn("fix: ", text)

    def test_pending_record_created_at_the_end_of_time_is_an_error_not_a_traceback(self):
        root = fresh_copy(IDEATION_GATE)
        state = read_state(root)
        state["pending"][0]["created_at"] = "9999-12-31T23:59:59Z"
        write_bytes(root / STATE, dumps(state))
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assertEqual(validation.validate_document("step-output", document, "step output"), [])
        if code != 0:
            self.assertEqual(tree(root), before)

    def test_state_json_that_is_a_directory_is_state_invalid(self):
        root = fresh_copy(IDEATION_GATE)
        (root / STATE).unlink()
        (root / STATE).mkdir()
        before = tree(root)
        for command in ("step", "status", "resume"):
            code, document, _ = self.drive(root, command)
            self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_huge_integer_in_state(self):
        root = fresh_copy(IDEATION_GATE_2)
        huge = b'"total_usd": 1' + b"0" * 400
        write_bytes(root / STATE, replaced((root / STATE).read_bytes(), b'"total_usd": 0.1', huge))
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_state_json_null(self):
        root = fresh_copy(IDEATION_GATE)
        write_bytes(root / STATE, b"null")
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_pending_path_with_a_trailing_newline(self):
        root = fresh_copy(IDEATION_GATE)
        state = read_state(root)
        state["pending"][0]["result_path"] += "\n"
        write_bytes(root / STATE, dumps(state))
        before = tree(root)
        code, document, _ = self.drive(root)
        self.assert_error_report(code, document, "state-invalid")
        self.assertEqual(tree(root), before)

    def test_truncated_state_through_the_script(self):
        root = fresh_copy(POLL_GATE_2)
        write_bytes(root / STATE, (root / STATE).read_bytes()[:333])
        before = tree(root)
        code, document, err = self.run_script(root)
        self.assertEqual((code, document["error"]["code"]), (1, "state-invalid"))
        self.assertEqual(err.strip(), document["error"]["message"])
        self.assertEqual(tree(root), before)


if __name__ == "__main__":
    unittest.main()
