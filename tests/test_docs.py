"""Reference documents: generated blocks in sync, reverse coverage, when-to-read lines, history named once."""
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support
import sync_docs

from metaopt_lib.contract import machine, schemas
from metaopt_lib.contract.conventions import EXIT_CODES
from metaopt_lib.docs.docgen import BLOCKS

REFERENCES = support.ROOT / "references"
REFERENCE_FILES = ["state-machine.md", "control-protocol.md", "contracts.md", "backend-contract.md",
                   "worker-lanes.md", "dependencies.md", "preflight.md", "local-backend.md",
                   "skypilot-backend.md", "worker-clis.md", "secrets.md", "reports.md", "honesty.md"]
V3_NAMES = ["hetzner-delegation", "ray-hetzner", "materialization", "diagnosis", "rollover"]


def _reference_text():
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(REFERENCES.glob("*.md")))


class GeneratedBlocks(unittest.TestCase):
    def test_blocks_are_in_sync(self):
        code, out, err = support.run_cli(sync_docs.main, ["--check"])
        self.assertEqual(code, 0, f"{err}\nrun python3 scripts/sync_docs.py")

    def test_a_hand_edited_block_fails_the_check_and_names_the_fix(self):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "skill"
            shutil.copytree(support.ROOT, copy, ignore=shutil.ignore_patterns(".git", "__pycache__"))
            doc = copy / "references" / "state-machine.md"
            text = doc.read_text(encoding="utf-8")
            edited = text.replace("| `LOAD_CAMPAIGN` |", "| `LOAD_CAMPAIGN_X` |", 1)
            self.assertNotEqual(edited, text)
            doc.write_text(edited, encoding="utf-8")
            run = subprocess.run([sys.executable, str(copy / "scripts" / "sync_docs.py"), "--check"],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(run.returncode, 1)
            self.assertIn("run python3 scripts/sync_docs.py", run.stderr)
            self.assertIn("references/state-machine.md", run.stderr)
            fixed = subprocess.run([sys.executable, str(copy / "scripts" / "sync_docs.py")],
                                   capture_output=True, text=True, timeout=120)
            self.assertEqual(fixed.returncode, 0, fixed.stderr)
            self.assertEqual(doc.read_text(encoding="utf-8"), text)

    def test_unknown_and_unterminated_blocks_are_reported(self):
        from metaopt_lib.docs.docsync import render
        _, problems = render("<!-- BEGIN GENERATED: nope -->\nx\n<!-- END GENERATED -->\n", {})
        self.assertEqual(problems, ["unknown generated block 'nope'"])
        _, problems = render("<!-- BEGIN GENERATED: states -->\nx\n", {"states": ""})
        self.assertTrue(problems)

    def test_every_block_is_placed_in_some_document(self):
        text = _reference_text()
        for name in BLOCKS:
            with self.subTest(block=name):
                self.assertIn(f"<!-- BEGIN GENERATED: {name} -->", text)


class WorkerProfileFrontmatter(unittest.TestCase):
    """sync_docs.py --check fails when a worker profile's frontmatter no longer says what workers.yaml does
    (scripts/metaopt_lib/hosts/agent_files.py generates it; the install writes host agent files from it)."""

    def test_a_hand_edit_or_a_registry_change_fails_the_check_until_regenerated(self):
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "skill"
            shutil.copytree(support.ROOT, copy, ignore=shutil.ignore_patterns(".git", "__pycache__", "tests"))
            profile = copy / ".github" / "agents" / "metaopt-analysis-worker.agent.md"
            original = profile.read_text()
            registry = copy / "agents" / "workers.yaml"
            edits = {
                "tools widened": (profile, original.replace("  - edit\n", "  - edit\n  - execute\n", 1)),
                "registry description": (registry, registry.read_text().replace(
                    "Explains the sweep's best run", "Explains the best run", 1)),
            }
            for label, (path, edited) in edits.items():
                with self.subTest(edit=label):
                    saved = path.read_text()
                    self.assertNotEqual(edited, saved)
                    path.write_text(edited)
                    check = self.sync(copy, "--check")
                    self.assertEqual(check.returncode, 1, check.stdout)
                    self.assertIn(".github/agents/metaopt-analysis-worker.agent.md", json.loads(check.stdout)["stale"])
                    self.assertIn("run python3 scripts/sync_docs.py", check.stderr)
                    self.assertEqual(self.sync(copy).returncode, 0)
                    self.assertEqual(self.sync(copy, "--check").returncode, 0)
                    path.write_text(saved)
                    self.assertEqual(self.sync(copy).returncode, 0)
            self.assertEqual(profile.read_text(), original)

    def sync(self, copy, *flags):
        return subprocess.run([sys.executable, str(copy / "scripts" / "sync_docs.py"), *flags], capture_output=True,
                              text=True, timeout=120)


class DocumentedTablesMatchTheirSources(unittest.TestCase):
    def test_action_kinds_equal_the_step_output_enum(self):
        from metaopt_lib.control.actions import ACTION_KINDS
        progress = schemas.load_schema("step-output")["$defs"]["progress"]
        self.assertEqual(list(ACTION_KINDS), progress["properties"]["action"]["properties"]["kind"]["enum"])

    def test_every_preflight_check_is_described(self):
        from metaopt_lib.preflight.checks import CHECK_ORDER
        from metaopt_lib.preflight.catalog import CHECK_DESCRIPTIONS
        self.assertEqual(list(CHECK_DESCRIPTIONS), list(CHECK_ORDER))


class ReverseCoverage(unittest.TestCase):
    def setUp(self):
        self.text = _reference_text()

    def _assert_named(self, names, what):
        missing = [n for n in names if n not in self.text]
        self.assertEqual(missing, [], f"{what} missing from references/")

    def test_states_phases_directives_statuses(self):
        self._assert_named(list(machine.STATES), "states")
        self._assert_named(machine.all_phases(), "phases")
        self._assert_named(list(machine.DIRECTIVE_TYPES), "directives")
        self._assert_named(schemas.load_schema("common")["$defs"]["status"]["enum"], "statuses")

    def test_lanes_and_workers(self):
        registry = support.validation.load_valid("worker-registry", support.ROOT / "agents" / "workers.yaml")
        self._assert_named(list(registry["workers"]), "workers")
        self._assert_named([w["lane"] for w in registry["workers"].values()], "lanes")

    def test_every_enumerated_status_value_of_every_result(self):
        values = set()
        for name in ("executor-result", "state", "preflight-readiness", "handoff-envelope"):
            values |= set(re.findall(r'"enum": \[([^\]]*)\]', (support.ROOT / "references" / "schemas" /
                                                             f"{name}.schema.json").read_text()))
        names = {v.strip().strip('"') for group in values for v in group.split(",") if v.strip() != "null"}
        self._assert_named(sorted(n for n in names if n), "enumerated values")

    def test_exit_codes(self):
        for code in EXIT_CODES:
            self.assertIn(f"`{code}`", self.text)

    def test_scripts_and_schemas(self):
        self._assert_named(list(machine.CONTROL_AGENTS.values()) + list(machine.CONTROL_AGENTS), "control agents")
        self._assert_named(["scripts/validate.py", "scripts/sync_docs.py", "scripts/metaopt.py",
                            "scripts/skypilot_wandb_worker.py"], "scripts")
        self._assert_named([f"{n}.schema.json" for n in schemas.schema_names()], "schemas")


class ReferenceShape(unittest.TestCase):
    def test_the_reference_set(self):
        self.assertEqual(sorted(p.name for p in REFERENCES.glob("*.md")), sorted(REFERENCE_FILES))

    def test_each_reference_opens_with_one_line_saying_when_to_read_it(self):
        for name in REFERENCE_FILES:
            with self.subTest(reference=name):
                first = (REFERENCES / name).read_text(encoding="utf-8").splitlines()[0]
                self.assertRegex(first, r"^> Read this when .+")

    def test_long_references_have_a_table_of_contents(self):
        for name in REFERENCE_FILES:
            lines = (REFERENCES / name).read_text(encoding="utf-8").splitlines()
            if len(lines) > 300:
                with self.subTest(reference=name):
                    head = "\n".join(lines[:40]).lower()
                    self.assertIn("contents", head)
                    self.assertRegex(head, r"\]\(#")

    def test_v3_names_appear_once_as_history(self):
        text = _reference_text()
        for name in V3_NAMES:
            with self.subTest(name=name):
                self.assertEqual(len(re.findall(rf"\b{name}\b", text, re.I)), 1, name)
        history = (REFERENCES / "worker-lanes.md").read_text(encoding="utf-8").lower()
        self.assertIn("not built", history)
        for other in ("SKILL.md", "README.md"):
            body = (support.ROOT / other).read_text(encoding="utf-8").lower()
            for name in ("hetzner", "ray-hetzner"):
                self.assertNotIn(name, body, other)


if __name__ == "__main__":
    unittest.main()
