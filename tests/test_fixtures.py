"""Every fixture is indexed and described; valid ones validate; invalid ones fail for their named rule."""
import json
import unittest

import support
import validate

from metaopt_lib.contract import machine, validation

MIN_INVALID = {"campaign": 12, "state": 12, "handoff-envelope": 10, "directive": 6, "executor-result": 10,
               "ideation-result": 6, "selection-result": 2, "analysis-result": 2, "preflight-readiness": 4,
               "sweep-config": 6, "worker-task": 3}


class FixtureIndex(unittest.TestCase):
    def test_every_validator_kind_with_files_has_fixtures(self):
        self.assertTrue(set(MIN_INVALID) <= set(support.fixture_kinds()))
        self.assertTrue(set(support.fixture_kinds()) <= set(validation.KINDS))

    def test_cases_index_lists_exactly_the_files_with_a_one_line_description(self):
        for kind in support.fixture_kinds():
            with self.subTest(kind=kind):
                cases = support.fixture_cases(kind)
                self.assertEqual(sorted(cases), support.listed_fixture_files(kind))
                for name, case in cases.items():
                    description = case.get("description", "")
                    self.assertTrue(description and "\n" not in description and len(description) <= 200, name)
                    if name.startswith("invalid/"):
                        self.assertIn(case.get("rule"), support.RULES, name)
                        self.assertTrue(case.get("path", "").startswith("$"), name)

    def test_enough_invalid_cases_per_kind(self):
        for kind, minimum in MIN_INVALID.items():
            invalid = [n for n in support.fixture_cases(kind) if n.startswith("invalid/")]
            self.assertGreaterEqual(len(invalid), minimum, kind)

    def test_one_valid_state_per_machine_state(self):
        states = set()
        for name in support.fixture_cases("state"):
            if name.startswith("valid/"):
                states.add(json.loads((support.FIXTURES / "state" / name).read_text())["machine_state"])
        self.assertEqual(states, set(machine.STATES))


class FixtureVerdicts(unittest.TestCase):
    def test_valid_fixtures_have_no_issues(self):
        for kind in support.fixture_kinds():
            for name, case in support.fixture_cases(kind).items():
                if name.startswith("valid/"):
                    with self.subTest(fixture=f"{kind}/{name}"):
                        _, issues = validation.load_and_validate(kind, support.FIXTURES / kind / name,
                                                                 context=support.context_for(case))
                        self.assertEqual([i.message for i in issues], [])

    def test_invalid_fixtures_fail_for_their_named_rule_at_their_path(self):
        for kind in support.fixture_kinds():
            for name, case in support.fixture_cases(kind).items():
                if name.startswith("invalid/"):
                    with self.subTest(fixture=f"{kind}/{name}"):
                        _, issues = validation.load_and_validate(kind, support.FIXTURES / kind / name,
                                                                 context=support.context_for(case))
                        found = {(i.rule, i.path) for i in issues}
                        self.assertIn((case["rule"], case["path"]), found)

    def test_the_cli_rejects_every_invalid_fixture_with_its_rule_named(self):
        for kind in support.fixture_kinds():
            for name, case in support.fixture_cases(kind).items():
                if not name.startswith("invalid/"):
                    continue
                with self.subTest(fixture=f"{kind}/{name}"):
                    argv = [kind, str(support.FIXTURES / kind / name)]
                    for key in ("campaign", "task", "state"):
                        if case.get(key):
                            argv += [f"--{key}", str(support.ROOT / case[key])]
                    code, out, err = support.run_cli(validate.main, argv)
                    self.assertEqual(code, 1)
                    self.assertNotIn("Traceback", err)
                    self.assertIn(case["rule"], [e["rule"] for e in json.loads(out)["errors"]])


if __name__ == "__main__":
    unittest.main()
