"""SKILL.md, agents/ and the repository layout follow the Agent Skills, Codex and Copilot formats."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

import support

SKILL_KEYS = {"name", "description", "license", "compatibility", "metadata", "allowed-tools"}
TOP_LEVEL = {"SKILL.md", "README.md", "requirements.txt", "LICENSE", "agents", "references", "examples", "fixtures",
             "scripts", ".github", "tests", ".ci", ".git", ".gitignore"}
OPENAI_KEYS = {"interface": {"display_name", "short_description", "default_prompt", "brand_color", "icon_small",
                             "icon_large"},
               "policy": {"allow_implicit_invocation"}, "dependencies": {"tools"}}
COPILOT_KEYS = {"name", "description", "tools", "model", "target", "user-invocable", "disable-model-invocation",
                "mcp-servers"}
COPILOT_TOOL_ALIASES = {"read", "edit", "search", "execute", "agent", "web", "todo"}


def frontmatter(path):
    text = path.read_text(encoding="utf-8")
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if not match:
        raise AssertionError(f"{path} has no YAML frontmatter")
    return yaml.safe_load(match.group(1)), match.group(2)


def find_agentskills():
    local = Path(sys.executable).parent / "agentskills"
    return str(local) if local.exists() else shutil.which("agentskills")


class SkillFile(unittest.TestCase):
    def setUp(self):
        self.meta, self.body = frontmatter(support.ROOT / "SKILL.md")

    def test_only_spec_keys(self):
        self.assertTrue(set(self.meta) <= SKILL_KEYS, set(self.meta) - SKILL_KEYS)

    def test_name(self):
        name = self.meta["name"]
        self.assertEqual(name, "ml-metaoptimization")
        self.assertRegex(name, r"^[a-z0-9]+(-[a-z0-9]+)*$")
        self.assertLessEqual(len(name), 64)

    def test_description(self):
        description = self.meta["description"]
        self.assertTrue(1 <= len(description) <= 1024)
        self.assertNotRegex(description, r"[<>]")
        for trigger in ("hyperparameter", "W&B", "budget"):
            self.assertIn(trigger.lower(), description.lower())

    def test_optional_keys(self):
        self.assertLessEqual(len(self.meta.get("compatibility", "")), 500)
        metadata = self.meta.get("metadata", {})
        self.assertTrue(all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()))
        self.assertIn("version", metadata)
        if "allowed-tools" in self.meta:
            self.assertIsInstance(self.meta["allowed-tools"], str)

    def test_body_is_a_short_router(self):
        self.assertLess(len(self.body.splitlines()), 500)
        self.assertLess(len(self.body.split()), 3500)

    def test_every_file_named_exists(self):
        named = set(re.findall(r"(?<![\w/.-])((?:references|scripts|examples|agents|fixtures)/[\w./-]+\.\w+)",
                               self.body))
        self.assertTrue(named)
        for rel in sorted(named):
            with self.subTest(path=rel):
                self.assertTrue((support.ROOT / rel).exists(), rel)

    def test_every_script_named_answers_help(self):
        scripts = sorted(set(re.findall(r"scripts/[\w]+\.py", self.body)))
        self.assertTrue(scripts)
        for rel in scripts:
            with self.subTest(script=rel):
                run = subprocess.run([sys.executable, str(support.ROOT / rel), "--help"], capture_output=True,
                                     text=True, timeout=60)
                self.assertEqual(run.returncode, 0, run.stderr)
                self.assertIn("usage:", run.stdout)

    def test_reference_validator_accepts_the_skill(self):
        tool = find_agentskills()
        if tool is None:
            if os.environ.get("CI"):
                self.fail("agentskills (PyPI skills-ref) is not installed; .ci/run installs it")
            self.skipTest("agentskills not installed (pip install skills-ref)")
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "ml-metaoptimization"
            shutil.copytree(support.ROOT, copy, ignore=shutil.ignore_patterns(".git", "__pycache__"))
            run = subprocess.run([tool, "validate", str(copy)], capture_output=True, text=True, timeout=120)
            self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


class CodexCatalog(unittest.TestCase):
    def setUp(self):
        self.doc = yaml.safe_load((support.ROOT / "agents" / "openai.yaml").read_text(encoding="utf-8"))

    def test_only_known_keys(self):
        self.assertTrue(set(self.doc) <= set(OPENAI_KEYS), set(self.doc) - set(OPENAI_KEYS))
        for section, keys in OPENAI_KEYS.items():
            self.assertTrue(set(self.doc.get(section, {})) <= keys, section)

    def test_interface_values(self):
        interface = self.doc["interface"]
        self.assertTrue(1 <= len(interface["display_name"]) <= 64)
        self.assertTrue(25 <= len(interface["short_description"]) <= 64, interface["short_description"])
        self.assertTrue(interface["default_prompt"].strip())
        # Codex's skill guide: the default prompt mentions the skill as $skill-name.
        self.assertIn("$ml-metaoptimization", interface["default_prompt"])
        if "brand_color" in interface:
            self.assertRegex(interface["brand_color"], r"^#[0-9A-Fa-f]{6}$")
        self.assertIsInstance(self.doc.get("policy", {}).get("allow_implicit_invocation", True), bool)

    def test_every_string_is_quoted(self):
        for line in (support.ROOT / "agents" / "openai.yaml").read_text(encoding="utf-8").splitlines():
            match = re.match(r"^\s*[\w-]+:\s+(\S.*)$", line)
            if match and not line.lstrip().startswith("#"):
                value = match.group(1)
                if value not in ("true", "false") and not re.match(r"^-?\d+(\.\d+)?$", value):
                    self.assertRegex(value, r"^[\"']", line)


class WorkerRegistryAndProfiles(unittest.TestCase):
    def test_registry_is_valid(self):
        _, issues = support.validation.load_and_validate("worker-registry", support.ROOT / "agents" / "workers.yaml")
        self.assertEqual([i.message for i in issues], [])

    def test_registry_schemas_exist(self):
        registry = yaml.safe_load((support.ROOT / "agents" / "workers.yaml").read_text(encoding="utf-8"))
        for name, worker in registry["workers"].items():
            for key in ("task_schema", "result_schema"):
                if key in worker:
                    self.assertTrue((support.ROOT / worker[key]).is_file(), f"{name}.{key}")

    def test_copilot_worker_profiles(self):
        profiles = sorted((support.ROOT / ".github" / "agents").glob("*.agent.md"))
        self.assertTrue(profiles)
        for path in profiles:
            with self.subTest(profile=path.name):
                meta, body = frontmatter(path)
                self.assertTrue(set(meta) <= COPILOT_KEYS, set(meta) - COPILOT_KEYS)
                self.assertTrue(meta.get("description"))
                self.assertLessEqual(len(body), 30000)
                self.assertTrue(set(meta.get("tools", [])) <= COPILOT_TOOL_ALIASES)
                if path.name.endswith("-worker.agent.md"):
                    self.assertIs(meta.get("user-invocable"), False)


class Layout(unittest.TestCase):
    def test_nothing_else_at_the_top_level(self):
        tracked = subprocess.run(["git", "ls-files"], cwd=support.ROOT, capture_output=True, text=True)
        names = ({line.split("/")[0] for line in tracked.stdout.splitlines()} if tracked.returncode == 0
                 else {p.name for p in support.ROOT.iterdir()})
        self.assertTrue(names <= TOP_LEVEL, names - TOP_LEVEL)

    def test_scripts_are_thin(self):
        for path in sorted((support.ROOT / "scripts").rglob("*.py")):
            with self.subTest(script=path.name):
                self.assertLessEqual(len(path.read_text(encoding="utf-8").splitlines()), 300)


if __name__ == "__main__":
    unittest.main()
