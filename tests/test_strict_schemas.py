"""OpenAI strict structured-output schemas of the worker results: rule-clean, committed as generated,
and a lossless round trip between a real result and its strict form."""
import copy
import json
import sys
import tempfile
import unittest
from pathlib import Path
from unittest import mock

# Also runnable as `python -m unittest tests.test_strict_schemas` from the skill root.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402
from jsonschema import Draft202012Validator, FormatChecker  # noqa: E402

from metaopt_lib.contract import strict_schemas, validation  # noqa: E402
from metaopt_lib.contract.strict_schemas import (STRICT_KINDS, from_strict, strict_path,  # noqa: E402
                                                 strict_rule_problems, strict_schema, to_strict, write_strict_schemas)
from metaopt_lib.docs import docsync  # noqa: E402


def valid_fixtures(kind):
    """(name, document, context) of every valid fixture of a worker result kind."""
    real = kind + "-result"
    out = []
    for name, case in support.fixture_cases(real).items():
        if name.startswith("valid/"):
            context = support.context_for(case)
            document = validation.load_valid(real, support.FIXTURES / real / name, context=context)
            out.append((name, document, context))
    return out


def real_issues(kind, document, context=None):
    return validation.validate_document(kind + "-result", document, "result.json", context)


def sweep_configs(kind, document):
    """(parts, value) of every sweep_config a result carries."""
    if kind == "ideation":
        return [(("proposals", i, "sweep_config"), p["sweep_config"]) for i, p in enumerate(document["proposals"])]
    return [(("sweep_config",), document["sweep_config"])] if "sweep_config" in document else []


class GeneratedSchemas(unittest.TestCase):
    def test_each_generated_schema_breaks_no_strict_rule_and_is_a_valid_2020_12_schema(self):
        for kind in STRICT_KINDS:
            with self.subTest(kind=kind):
                schema = strict_schema(kind)
                self.assertEqual(strict_rule_problems(schema), [])
                Draft202012Validator.check_schema(schema)

    def test_the_committed_files_are_the_generated_schemas(self):
        for kind in STRICT_KINDS:
            with self.subTest(kind=kind):
                self.assertEqual(strict_path(kind), support.ROOT / "references/schemas/strict" / f"{kind}.schema.json")
                expected = json.dumps(strict_schema(kind), indent=2, sort_keys=False) + "\n"
                self.assertEqual(strict_path(kind).read_text(encoding="utf-8"), expected,
                                 "run python3 scripts/sync_docs.py")
        self.assertEqual(write_strict_schemas(write=False), [])

    def test_optional_properties_are_required_and_nullable_and_sweep_configs_are_strings(self):
        selection = strict_schema("selection")
        self.assertEqual(selection["required"], list(selection["properties"]))
        self.assertEqual(selection["properties"]["sweep_config"]["type"], ["string", "null"])
        self.assertEqual(selection["properties"]["winning_proposal_id"]["type"], ["string", "null"])
        self.assertEqual(selection["properties"]["task_id"]["type"], "string")  # required stays non-null
        self.assertEqual(selection["properties"]["worker"]["enum"], ["metaopt-selection-worker"])
        proposal = strict_schema("ideation")["properties"]["proposals"]["items"]
        self.assertEqual(proposal["properties"]["sweep_config"]["type"], "string")
        self.assertIn("serialized with JSON", proposal["properties"]["sweep_config"]["description"])
        self.assertEqual(strict_schema("analysis")["properties"]["learnings"]["type"], ["array", "null"])

    def test_the_root_description_names_the_dropped_conditional_rules(self):
        for kind in STRICT_KINDS:
            with self.subTest(kind=kind):
                description = strict_schema(kind)["description"]
                self.assertIn("/if, /then, /else", description)
                self.assertIn(f"references/schemas/{kind}-result.schema.json", description)

    def test_an_unknown_kind_is_refused(self):
        for call in (strict_schema, strict_path, lambda kind: to_strict(kind, {})):
            with self.assertRaises(ValueError):
                call("sweep-config")


class RuleChecker(unittest.TestCase):
    def planted(self, change):
        schema = copy.deepcopy(strict_schema("ideation"))
        change(schema)
        return strict_rule_problems(schema)

    def assertFound(self, change, pointer, word):
        problems = self.planted(change)
        self.assertTrue(any(p.startswith(pointer + ":") and word in p for p in problems), problems)

    def test_an_object_without_additional_properties_false(self):
        self.assertFound(lambda s: s["properties"]["proposals"]["items"].pop("additionalProperties"),
                         "/properties/proposals/items", "additionalProperties")
        self.assertFound(lambda s: s.update(additionalProperties=True), "/", "additionalProperties")

    def test_an_optional_property_not_in_required(self):
        self.assertFound(lambda s: s["required"].remove("failure_reason"), "/properties/failure_reason", "required")

    def test_forbidden_keywords(self):
        status = "/properties/status"
        self.assertFound(lambda s: s.update(allOf=[{"required": ["proposals"]}]), "/", "'allOf'")
        self.assertFound(lambda s: s["properties"]["status"].update({"if": {"enum": ["ok"]}, "then": {}}),
                         status, "'if'")
        self.assertFound(lambda s: s["properties"]["status"].update({"if": {"enum": ["ok"]}, "then": {}}),
                         status, "'then'")
        self.assertFound(lambda s: s["properties"].update(status={"oneOf": [{"type": "string"}]}), status, "anyOf")
        self.assertFound(lambda s: s["properties"].update(status={"type": "string", "const": "ok"}), status, "enum")
        self.assertFound(lambda s: s["properties"]["task_id"].update(minLength=1), "/properties/task_id", "minLength")
        self.assertFound(lambda s: s["properties"]["task_id"].update(format="uri"), "/properties/task_id", "format")

    def test_remote_and_dangling_refs(self):
        remote = {"$ref": "common.schema.json#/$defs/text"}
        self.assertFound(lambda s: s["properties"].update(task_id=remote), "/properties/task_id", "$ref")
        self.assertFound(lambda s: s["properties"].update(task_id={"$ref": "#/$defs/missing"}),
                         "/properties/task_id", "$ref")
        local = self.planted(lambda s: (s.update({"$defs": {"id": {"type": "string"}}}),
                                        s["properties"].update(task_id={"$ref": "#/$defs/id"})))
        self.assertEqual(local, [])

    def test_the_root_must_be_an_object_not_any_of(self):
        self.assertTrue(strict_rule_problems({"anyOf": [{"type": "object", "properties": {}, "required": [],
                                                         "additionalProperties": False}]}))
        self.assertTrue(strict_rule_problems([]))

    def test_a_schema_without_a_type(self):
        self.assertFound(lambda s: s["properties"].update(task_id={"description": "x"}), "/properties/task_id",
                         "no type")

    def test_size_limits(self):
        def deep(schema):
            node = schema
            for level in range(11):
                child = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
                node["properties"]["x"] = child
                node["required"].append("x")
                node = child
        self.assertFound(deep, "/properties/x/properties/x/properties/x/properties/x/properties/x/properties/x"
                         "/properties/x/properties/x/properties/x/properties/x", "levels")
        self.assertFound(lambda s: s["properties"]["status"].update(enum=list(range(1001)), type="integer"),
                         "/", "enum values")
        many = {f"p{i}": {"type": "integer"} for i in range(5001)}
        self.assertFound(lambda s: s.update(properties=many, required=list(many)), "/", "object properties")


class RoundTrip(unittest.TestCase):
    def test_every_valid_fixture_survives_the_round_trip(self):
        for kind in STRICT_KINDS:
            fixtures = valid_fixtures(kind)
            self.assertGreaterEqual(len(fixtures), 3, kind)
            validator = Draft202012Validator(strict_schema(kind), format_checker=FormatChecker())
            for name, document, context in fixtures:
                with self.subTest(kind=kind, fixture=name):
                    original = copy.deepcopy(document)
                    strict = to_strict(kind, document)
                    self.assertEqual(document, original, "to_strict changed its input")
                    self.assertEqual(list(validator.iter_errors(strict)), [])
                    self.assertEqual(set(strict), set(strict_schema(kind)["properties"]))
                    for parts, value in sweep_configs(kind, strict):
                        self.assertIsInstance(value, (str, type(None)), parts)
                    back = from_strict(kind, json.loads(json.dumps(strict)))
                    self.assertEqual(back, original)
                    self.assertEqual(real_issues(kind, back, context), [])

    def test_absent_optional_properties_become_null_and_sweep_configs_sorted_json(self):
        fixtures = {name: document for name, document, _ in valid_fixtures("selection")}
        strict = to_strict("selection", fixtures["valid/failed-with-reason.json"])
        self.assertEqual([strict[k] for k in ("winning_proposal_id", "sweep_config", "rationale")], [None] * 3)
        ok = fixtures["valid/ok.json"]
        self.assertEqual(to_strict("selection", ok)["sweep_config"], json.dumps(ok["sweep_config"], sort_keys=True))

    def test_a_null_required_property_is_kept_for_the_real_schema_to_report(self):
        back = from_strict("analysis", {"schema_version": 1, "task_id": None, "worker": "metaopt-analysis-worker",
                                        "status": "failed", "failure_reason": "x", "learnings": None})
        self.assertEqual(back["task_id"], None)
        self.assertNotIn("learnings", back)
        self.assertIn(("task_id",), [i.parts for i in real_issues("analysis", back)])

    def test_a_sweep_config_string_that_is_not_a_json_object_is_reported_at_its_path(self):
        bad = ["{method: bayes", "[1, 2]", "\"bayes\"", "",
               '{"method": "random", "parameters": {"lr": {"min": NaN, "max": 1}}}',
               '{"method": "random", "method": "grid", "parameters": {"lr": {"value": 1}}}']
        for kind, fixture in (("ideation", "valid/ok-two-proposals.json"), ("selection", "valid/ok.json")):
            _, document, context = next(f for f in valid_fixtures(kind) if f[0] == fixture)
            for text in bad:
                with self.subTest(kind=kind, text=text):
                    strict = to_strict(kind, document)
                    target = strict["proposals"][0] if kind == "ideation" else strict
                    target["sweep_config"] = text
                    back = from_strict(kind, strict)
                    (parts, value), *_ = sweep_configs(kind, back)
                    self.assertEqual(value, text)
                    self.assertIn(parts, [i.parts for i in real_issues(kind, back, context)])

    def test_from_strict_never_raises_on_garbage(self):
        deep = []
        for _ in range(300):
            deep = [deep, {"sweep_config": None}]
        garbage = [None, [], [1, "x"], 0, -1.5, True, "text", {}, deep, {"proposals": "x"}, {"learnings": deep},
                   {"proposals": [None, 1, [], {"sweep_config": 5}, {"sweep_config": "1" * 5000}]},
                   {"sweep_config": "[" * 100000}, {"sweep_config": "9" * 5000}, {"sweep_config": {"a": deep}},
                   {"status": None, "unknown": None, "proposals": None}, {"sweep_config": ["{}"]}]
        for kind in STRICT_KINDS:
            for index, item in enumerate(garbage):
                with self.subTest(kind=kind, garbage=index):
                    before = copy.deepcopy(item)
                    result = from_strict(kind, item)
                    self.assertEqual(item, before, "from_strict changed its input")
                    if not isinstance(item, dict):
                        self.assertEqual(result, item)
                    real_issues(kind, result)


class DriftCheck(unittest.TestCase):
    def test_missing_and_hand_edited_files_are_reported_and_rewritten_only_on_write(self):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            with mock.patch.object(strict_schemas, "SKILL_ROOT", root), \
                    mock.patch.object(strict_schemas, "STRICT_DIR", root / "references/schemas/strict"):
                names = [f"references/schemas/strict/{kind}.schema.json" for kind in STRICT_KINDS]
                self.assertEqual(write_strict_schemas(write=False), names)
                self.assertFalse((root / "references").exists())
                self.assertEqual(write_strict_schemas(write=True), names)
                self.assertEqual(write_strict_schemas(write=False), [])
                edited = strict_path("selection")
                good = edited.read_text(encoding="utf-8")
                edited.write_text(good.replace('"null"', '"boolean"', 1), encoding="utf-8")
                self.assertEqual(write_strict_schemas(write=False), [names[1]])
                self.assertEqual(docsync.sync(write=False)["stale"][-1:], [names[1]])
                self.assertNotEqual(edited.read_text(encoding="utf-8"), good)
                self.assertEqual(write_strict_schemas(write=True), [names[1]])
                self.assertEqual(edited.read_text(encoding="utf-8"), good)


if __name__ == "__main__":
    unittest.main()
