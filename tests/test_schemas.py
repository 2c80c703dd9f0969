"""Every contract schema is a valid 2020-12 schema, documented, and agrees with the machine module."""
import json
import unittest

import support  # noqa: F401
from jsonschema import Draft202012Validator

from metaopt_lib.contract import machine, schemas
from metaopt_lib.contract.paths import SCHEMA_DIR

EXPECTED_SCHEMAS = {"analysis-result", "campaign", "common", "directive", "executor-result", "handoff-envelope",
                    "ideation-result", "preflight-readiness", "selection-result", "state", "step-output", "sweep-config",
                    "worker-registry", "worker-task", "local-sweep", "local-sweep-status",
                    "cloud-sweep-record", "trial-table", "run-output", "status-output", "best-output",
                    "install-manifest", "install-output", "history-iteration", "history-learning", "history-ledger"}


def _properties(node, where):
    """Yield (where, name, subschema) for every declared property anywhere in a schema."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{where}.{name}", name, sub
        for key, value in node.items():
            if key in ("if", "then", "else", "not"):
                continue  # conditions restate fields declared elsewhere
            if key != "properties":
                yield from _properties(value, f"{where}/{key}")
            else:
                for name, sub in value.items():
                    yield from _properties(sub, f"{where}.{name}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _properties(item, f"{where}[{index}]")


class SchemaFiles(unittest.TestCase):
    def test_the_expected_contracts_exist(self):
        self.assertEqual(set(schemas.schema_names()), EXPECTED_SCHEMAS)

    def test_each_schema_is_valid_under_the_2020_12_metaschema(self):
        for name in schemas.schema_names():
            with self.subTest(schema=name):
                Draft202012Validator.check_schema(schemas.load_schema(name))

    def test_each_schema_has_id_title_and_description(self):
        for name in schemas.schema_names():
            with self.subTest(schema=name):
                schema = schemas.load_schema(name)
                self.assertTrue(schema["$id"].endswith(f"/schemas/{name}.schema.json"))
                self.assertEqual(schema["$schema"], "https://json-schema.org/draft/2020-12/schema")
                self.assertTrue(schema.get("title"))
                self.assertTrue(schema.get("description"))

    def test_every_field_is_described_directly_or_by_its_reference(self):
        for name in schemas.schema_names():
            for where, field, sub in _properties(schemas.load_schema(name), name):
                with self.subTest(field=where):
                    described = "description" in sub or "$ref" in sub or "allOf" in sub
                    self.assertTrue(described, f"{where} has no description")

    def test_schema_files_are_formatted_json(self):
        for path in SCHEMA_DIR.glob("*.schema.json"):
            with self.subTest(schema=path.name):
                json.loads(path.read_text(encoding="utf-8"))


class SchemaAgreesWithMachine(unittest.TestCase):
    def setUp(self):
        self.defs = schemas.load_schema("common")["$defs"]

    def test_machine_states(self):
        self.assertEqual(self.defs["machineState"]["enum"], list(machine.STATES))

    def test_status_values(self):
        expected = ["RUNNING"] + [s for s in machine.STATES if s in machine.TERMINAL_STATES]
        self.assertEqual(self.defs["status"]["enum"], expected)

    def test_control_agents(self):
        self.assertEqual(self.defs["controlAgent"]["enum"], list(machine.CONTROL_AGENTS))

    def test_directive_types(self):
        self.assertEqual(self.defs["directiveType"]["enum"], list(machine.DIRECTIVE_TYPES))

    def test_executor_result_types(self):
        types = schemas.load_schema("executor-result")["properties"]["type"]["enum"]
        self.assertEqual(types, list(machine.EXECUTOR_DIRECTIVES))

    def test_every_directive_type_has_a_payload_definition(self):
        defs = schemas.load_schema("directive")["$defs"]
        for directive in machine.DIRECTIVE_TYPES:
            with self.subTest(directive=directive):
                self.assertIn(directive, defs)

    def test_terminal_record_states(self):
        state = schemas.load_schema("state")
        terminal_enum = state["properties"]["terminal"]["oneOf"][1]["properties"]["state"]["enum"]
        self.assertEqual(set(terminal_enum), set(machine.TERMINAL_STATES))


if __name__ == "__main__":
    unittest.main()
