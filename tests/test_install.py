"""scripts/install.py: install, re-install, dry run and uninstall for each host, in a temporary project and
a temporary HOME, next to files of the user's own that must survive; generated agent files use only the
keys each host documents; the worker profiles' frontmatter is checked for drift by sync_docs.py."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

import support
import install  # noqa: E402  (scripts/ is on the path once support is imported)
from metaopt_lib.contract import validation
from metaopt_lib.hosts import agent_files
from metaopt_lib.hosts.target import MANIFEST_NAME
from metaopt_lib.hosts.skill_files import skill_files

HOSTS = ("codex", "claude", "copilot")
SKILL = "ml-metaoptimization"
# Where each host looks, by scope (relative to the project, or to HOME for scope user).
SKILL_DIRS = {("codex", "project"): ".agents/skills", ("codex", "user"): ".agents/skills",
              ("claude", "project"): ".claude/skills", ("claude", "user"): ".claude/skills",
              ("copilot", "project"): ".github/skills", ("copilot", "user"): ".copilot/skills"}
AGENT_DIRS = {("claude", "project"): ".claude/agents", ("claude", "user"): ".claude/agents",
              ("copilot", "project"): ".github/agents", ("copilot", "user"): ".copilot/agents"}
AGENT_SUFFIX = {"claude": ".md", "copilot": ".agent.md"}
WORKERS = ("metaopt-analysis-worker", "metaopt-ideation-worker", "metaopt-selection-worker")
# Frontmatter keys each host documents for its agent files.
# Claude Code subagents: https://code.claude.com/docs/en/sub-agents.md#supported-frontmatter-fields
CLAUDE_AGENT_KEYS = {"name", "description", "tools", "disallowedTools", "model", "permissionMode", "maxTurns",
                     "skills", "mcpServers", "hooks", "memory", "background", "effort", "isolation", "initialPrompt"}
CLAUDE_TOOLS = {"Read", "Write", "Edit", "Glob", "Grep", "Bash", "WebFetch", "WebSearch", "NotebookEdit", "TodoWrite",
                "Agent", "Task"}
# Copilot custom agents: https://docs.github.com/en/copilot/reference/custom-agents-configuration (infer: retired)
COPILOT_AGENT_KEYS = {"name", "description", "target", "tools", "model", "disable-model-invocation", "user-invocable",
                      "mcp-servers", "metadata"}
COPILOT_TOOL_ALIASES = {"read", "edit", "search", "execute", "agent", "web", "todo"}


def frontmatter(text):
    match = re.match(r"^---\n(.*?)\n---\n(.*)$", text, re.S)
    if not match:
        raise AssertionError("no YAML frontmatter")
    return yaml.safe_load(match.group(1)), match.group(2)


def snapshot(root: Path) -> dict:
    """Every path under root with its type, size, mode and modification time: any write shows."""
    found = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        found[path.relative_to(root).as_posix()] = (info.st_mode, info.st_size, info.st_mtime_ns)
    return found


class InstallCase(unittest.TestCase):
    def setUp(self):
        temp = tempfile.TemporaryDirectory()
        self.addCleanup(temp.cleanup)
        self.tmp = Path(temp.name).resolve()
        self.project, self.home = self.tmp / "project", self.tmp / "home"
        self.project.mkdir()
        self.home.mkdir()

    def run_install(self, host, *flags, scope="project", code=0):
        argv = ["--host", host] + (["--project", str(self.project)] if scope == "project" else ["--scope", "user"])
        exit_code, out, err = support.run_cli(lambda a, out: install.main(a, out, home=str(self.home)),
                                              argv + list(flags))
        self.assertEqual(exit_code, code, out + err)
        document = json.loads(out)
        self.assertEqual(validation.validate_document("install-output", document, "install output"), [])
        return document

    def base(self, scope) -> Path:
        return self.project if scope == "project" else self.home

    def user_files(self, host, scope) -> dict:
        """Files of the user's own beside where the install writes: they must survive everything."""
        base = self.base(scope)
        files = {base / SKILL_DIRS[host, scope] / "their-skill" / "SKILL.md": "---\nname: their-skill\n---\nmine\n",
                 base / "train.py": "print('the user's training code')\n"}
        if (host, scope) in AGENT_DIRS:
            files[base / AGENT_DIRS[host, scope] / f"my-reviewer{AGENT_SUFFIX[host]}"] = \
                "---\nname: my-reviewer\ndescription: mine\n---\nReview.\n"
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return files


class InstallEveryHost(InstallCase):
    def test_install_reinstall_dry_run_and_uninstall_keep_the_users_files(self):
        for host in HOSTS:
            for scope in ("project", "user"):
                with self.subTest(host=host, scope=scope):
                    self.check_lifecycle(host, scope)
                    shutil.rmtree(self.project)
                    shutil.rmtree(self.home)
                    self.project.mkdir()
                    self.home.mkdir()

    def check_lifecycle(self, host, scope):
        base = self.base(scope)
        mine = self.user_files(host, scope)
        before = snapshot(self.tmp)
        dry = self.run_install(host, "--dry-run", scope=scope)
        self.assertEqual(snapshot(self.tmp), before, "a dry run wrote something")
        self.assertEqual(set(dry["counts"]), {"create"})

        first = self.run_install(host, scope=scope)
        self.assertEqual([(f["path"], f["action"]) for f in first["files"]],
                         [(f["path"], f["action"]) for f in dry["files"]], "the dry run listed other actions")
        skill_dir = base / SKILL_DIRS[host, scope] / SKILL
        self.assertEqual(first["skill_dir"], f"{SKILL_DIRS[host, scope]}/{SKILL}")
        self.assertEqual(first["base"], str(base))
        for rel in skill_files():
            self.assertEqual((skill_dir / rel).read_bytes(), (support.ROOT / rel).read_bytes(), rel)
        for absent in ("tests", "fixtures", ".ci", "README.md", ".git"):
            self.assertFalse((skill_dir / absent).exists(), absent)
        agents = sorted((base / AGENT_DIRS[host, scope]).glob(f"metaopt-*{AGENT_SUFFIX[host]}")) \
            if (host, scope) in AGENT_DIRS else []
        self.assertEqual([p.name for p in agents],
                         [f"{w}{AGENT_SUFFIX[host]}" for w in WORKERS] if (host, scope) in AGENT_DIRS else [])
        manifest = validation.load_valid("install-manifest", skill_dir / MANIFEST_NAME)
        self.assertEqual((manifest["host"], manifest["scope"]), (host, scope))
        self.assertEqual(len(manifest["files"]), first["counts"]["create"])
        self.assertTrue(first["uninstall_command"].endswith("--uninstall"))
        self.assertTrue(first["uninstall_command"] in first["next"] or "uninstall_command" in first["next"])

        after_install = snapshot(self.tmp)
        again = self.run_install(host, scope=scope)
        self.assertEqual(set(again["counts"]), {"unchanged"})
        self.assertEqual(snapshot(self.tmp), after_install, "a re-install wrote something")

        dry_uninstall = self.run_install(host, "--uninstall", "--dry-run", scope=scope)
        self.assertEqual(set(dry_uninstall["counts"]), {"remove"})
        self.assertEqual(snapshot(self.tmp), after_install, "a dry-run uninstall changed something")

        gone = self.run_install(host, "--uninstall", scope=scope)
        self.assertEqual(set(gone["counts"]), {"remove"})
        self.assertFalse(skill_dir.exists())
        for agent in agents:
            self.assertFalse(agent.exists(), agent)
        for path, text in mine.items():
            self.assertEqual(path.read_text(), text, f"{path} of the user did not survive")
        self.assertEqual(snapshot(self.tmp).keys(), before.keys(), "the uninstall left or took something")

        nothing = self.run_install(host, "--uninstall", scope=scope)
        self.assertEqual((nothing["files"], nothing["ok"]), ([], True))
        self.assertIn("Nothing to uninstall", nothing["next"])

    def test_directories_the_install_created_go_and_the_users_stay(self):
        self.run_install("claude")
        self.assertTrue((self.project / ".claude" / "agents").is_dir())
        self.run_install("claude", "--uninstall")
        self.assertEqual(list(self.project.iterdir()), [], "the install's directories stayed")
        (self.project / ".github" / "workflows").mkdir(parents=True)
        self.run_install("copilot")
        self.run_install("copilot", "--uninstall")
        self.assertEqual([p.relative_to(self.project).as_posix() for p in sorted(self.project.rglob("*"))],
                         [".github", ".github/workflows"])

    def test_several_hosts_in_one_project_do_not_touch_each_other(self):
        for host in HOSTS:
            self.run_install(host)
        self.run_install("claude", "--uninstall")
        self.assertFalse((self.project / ".claude").exists())
        for host in ("codex", "copilot"):
            self.assertEqual(set(self.run_install(host)["counts"]), {"unchanged"}, host)


class WhatIsNotOurs(InstallCase):
    def test_a_users_file_in_the_way_stops_the_install_before_anything_is_written(self):
        theirs = self.project / ".claude" / "agents" / "metaopt-ideation-worker.md"
        theirs.parent.mkdir(parents=True)
        theirs.write_text("---\nname: metaopt-ideation-worker\ndescription: my own\n---\nmine\n")
        before = snapshot(self.tmp)
        for flags in ((), ("--dry-run",)):
            report = self.run_install("claude", *flags, code=1)
            self.assertFalse(report["ok"])
            self.assertIn(str(theirs), [p["path"] for p in report["problems"]])
            self.assertIn("Nothing was written", report["next"])
        self.assertEqual(snapshot(self.tmp), before)

    def test_a_skill_copied_by_hand_is_not_overwritten(self):
        copy = self.project / ".agents" / "skills" / SKILL
        copy.mkdir(parents=True)
        (copy / "SKILL.md").write_text("an old copy\n")
        report = self.run_install("codex", code=1)
        self.assertEqual([p["path"] for p in report["problems"]], [str(copy)])
        self.assertEqual((copy / "SKILL.md").read_text(), "an old copy\n")

    def test_a_linked_skill_directory_is_refused(self):
        (self.project / ".agents" / "skills").mkdir(parents=True)
        (self.project / ".agents" / "skills" / SKILL).symlink_to(support.ROOT)
        report = self.run_install("codex", code=1)
        self.assertIn("symbolic link", report["problems"][0]["message"])

    def test_files_identical_to_the_install_are_taken_over(self):
        """As after an install interrupted before it wrote its manifest."""
        self.run_install("copilot")
        (self.project / ".github" / "skills" / SKILL / MANIFEST_NAME).unlink()
        report = self.run_install("copilot")
        self.assertEqual(set(report["counts"]), {"unchanged"})
        self.assertTrue((self.project / ".github" / "skills" / SKILL / MANIFEST_NAME).is_file())

    def test_a_file_edited_after_the_install_is_kept_and_reported(self):
        self.run_install("claude")
        agent = self.project / ".claude" / "agents" / "metaopt-analysis-worker.md"
        skill_md = self.project / ".claude" / "skills" / SKILL / "SKILL.md"
        for path in (agent, skill_md):
            path.write_text(path.read_text() + "\nmy note\n")
        report = self.run_install("claude")
        self.assertEqual(report["counts"].get("keep-edited"), 2)
        self.assertTrue(report["ok"])
        self.assertEqual(sorted(p["path"] for p in report["problems"]), sorted([str(agent), str(skill_md)]))
        self.assertTrue(agent.read_text().endswith("my note\n"))
        gone = self.run_install("claude", "--uninstall")
        self.assertEqual(gone["counts"].get("keep-edited"), 2)
        self.assertTrue(agent.read_text().endswith("my note\n"))
        self.assertTrue(skill_md.read_text().endswith("my note\n"))
        self.assertFalse((self.project / ".claude" / "skills" / SKILL / "scripts").exists())

    def test_a_newer_version_updates_its_files_and_removes_what_it_no_longer_ships(self):
        self.run_install("codex")
        skill = self.project / ".agents" / "skills" / SKILL
        manifest_path = skill / MANIFEST_NAME
        manifest = json.loads(manifest_path.read_text())
        old = b"as an older version wrote it\n"
        from metaopt_lib.hosts.manifest import digest
        (skill / "SKILL.md").write_bytes(old)
        (skill / "scripts" / "retired.py").write_bytes(old)
        (skill / "scripts" / "users-own.py").write_bytes(b"mine\n")
        rel = f".agents/skills/{SKILL}"
        manifest["files"].update({f"{rel}/SKILL.md": digest(old), f"{rel}/scripts/retired.py": digest(old)})
        manifest_path.write_text(json.dumps(manifest))
        report = self.run_install("codex")
        actions = {f["path"]: f["action"] for f in report["files"]}
        self.assertEqual((actions[f"{rel}/SKILL.md"], actions[f"{rel}/scripts/retired.py"]), ("update", "remove"))
        self.assertEqual((skill / "SKILL.md").read_bytes(), (support.ROOT / "SKILL.md").read_bytes())
        self.assertFalse((skill / "scripts" / "retired.py").exists())
        self.assertEqual((skill / "scripts" / "users-own.py").read_bytes(), b"mine\n")
        self.run_install("codex", "--uninstall")
        self.assertEqual([p.name for p in skill.rglob("*") if p.is_file()], ["users-own.py"])

    def test_a_manifest_that_cannot_be_trusted_stops_everything(self):
        self.run_install("claude")
        manifest_path = self.project / ".claude" / "skills" / SKILL / MANIFEST_NAME
        outside = self.tmp / "outside.txt"
        outside.write_text("not the skill's\n")
        good = json.loads(manifest_path.read_text())
        from metaopt_lib.hosts.manifest import digest
        cases = {
            "a path outside the install": dict(good, files=dict(good["files"], **{
                ".claude/agents/../../outside.txt": digest(b"not the skill's\n")})),
            "a file outside the skill and agent directories": dict(good, files=dict(good["files"], **{
                "train.py": digest(b"x")})),
            "another host": dict(good, host="copilot"),
            "not a manifest": {"files": []},
        }
        for label, document in cases.items():
            with self.subTest(case=label):
                manifest_path.write_text(json.dumps(document))
                before = snapshot(self.tmp)
                for flags in (("--uninstall",), ()):
                    report = self.run_install("claude", *flags, code=1)
                    self.assertEqual(report["problems"][0]["path"], str(manifest_path))
                self.assertEqual(snapshot(self.tmp), before)
                self.assertTrue(outside.exists())


class HostAgentFiles(InstallCase):
    def agent_files(self, host):
        self.run_install(host)
        directory = self.project / AGENT_DIRS[host, "project"]
        return {p.name: p.read_text() for p in sorted(directory.glob(f"metaopt-*{AGENT_SUFFIX[host]}"))}

    def test_claude_code_subagents_use_documented_keys_read_and_write_only_and_the_class_model(self):
        registry = yaml.safe_load((support.ROOT / "agents" / "workers.yaml").read_text())
        for name, text in self.agent_files("claude").items():
            with self.subTest(agent=name):
                meta, body = frontmatter(text)
                self.assertLessEqual(set(meta), CLAUDE_AGENT_KEYS)
                worker = name[:-len(".md")]
                self.assertEqual(meta["name"], worker)
                self.assertTrue(meta["description"])
                tools = {t.strip() for t in meta["tools"].split(",")}
                self.assertLessEqual(tools, CLAUDE_TOOLS)
                self.assertEqual(tools, {"Read", "Glob", "Grep", "Write"})  # no shell, no Edit of other files
                model_class = registry["workers"][worker]["model_class"]
                self.assertEqual(meta["model"], registry["models"][model_class]["claude"])
                self.assertIn(f"`.claude/skills/{SKILL}/`", body)
                self.assertTrue(body.endswith(agent_files.profile_body(registry["workers"][worker])))

    def test_copilot_custom_agents_use_documented_keys_and_are_not_user_invocable(self):
        for name, text in self.agent_files("copilot").items():
            with self.subTest(agent=name):
                meta, body = frontmatter(text)
                self.assertLessEqual(set(meta), COPILOT_AGENT_KEYS)
                self.assertIs(meta["user-invocable"], False)
                self.assertLessEqual(set(meta["tools"]), COPILOT_TOOL_ALIASES)
                self.assertLessEqual(len(body), 30000)
                # The same frontmatter as the repository's own profile, which sync_docs.py keeps in sync.
                own, _ = frontmatter((support.ROOT / ".github" / "agents" / name).read_text())
                self.assertEqual(meta, own)
                self.assertIn(f"`.github/skills/{SKILL}/`", body)

    def test_user_scope_agents_say_where_the_skill_is_under_home(self):
        self.run_install("claude", scope="user")
        text = (self.home / ".claude" / "agents" / "metaopt-ideation-worker.md").read_text()
        self.assertIn(f"`~/.claude/skills/{SKILL}/`", text)

    def test_the_repositorys_profiles_use_copilots_documented_keys(self):
        for path in sorted((support.ROOT / ".github" / "agents").glob("*.agent.md")):
            with self.subTest(profile=path.name):
                meta, _ = frontmatter(path.read_text())
                self.assertLessEqual(set(meta), COPILOT_AGENT_KEYS)


class CommandLine(InstallCase):
    def test_usage_errors(self):
        for argv in (["--host", "codex"], ["--host", "codex", "--scope", "user", "--project", "x"],
                     ["--host", "cursor", "--project", "x"], ["--project", "x"]):
            with self.subTest(argv=argv):
                code, out, err = support.run_cli(install.main, argv)
                self.assertEqual((code, out), (2, ""))
                self.assertIn("usage:", err)

    def test_the_installed_copy_is_a_valid_agent_skill(self):
        local = Path(sys.executable).parent / "agentskills"
        tool = str(local) if local.exists() else shutil.which("agentskills")
        if tool is None:
            if os.environ.get("CI"):
                self.fail("agentskills (PyPI skills-ref) is not installed; .ci/run installs it")
            self.skipTest("agentskills not installed (pip install skills-ref)")
        self.run_install("codex")
        run = subprocess.run([tool, "validate", str(self.project / ".agents" / "skills" / SKILL)],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_a_project_that_is_not_a_directory(self):
        code, out, _ = support.run_cli(install.main, ["--host", "codex", "--project", str(self.tmp / "missing")])
        report = json.loads(out)
        self.assertEqual((code, report["ok"]), (1, False))
        self.assertIn("is not a directory", report["problems"][0]["message"])
        self.assertEqual(validation.validate_document("install-output", report, "report"), [])

    def test_as_a_user_would_with_home_from_the_environment_and_the_installed_copy(self):
        """A subprocess from another directory: $HOME decides scope user; the installed copy runs and uninstalls."""
        # As Python runs by default: the installed scripts write their byte-code beside them.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["HOME"] = str(self.home)
        cwd = self.tmp
        run = subprocess.run([sys.executable, str(support.ROOT / "scripts" / "install.py"), "--host", "copilot",
                              "--scope", "user"], capture_output=True, text=True, timeout=120, env=env, cwd=cwd)
        self.assertEqual(run.returncode, 0, run.stderr)
        report = json.loads(run.stdout)
        installed = self.home / ".copilot" / "skills" / SKILL
        self.assertEqual(report["base"], str(self.home))
        self.assertTrue((self.home / ".copilot" / "agents" / "metaopt-selection-worker.agent.md").is_file())
        for script in ("metaopt.py", "validate.py", "preflight.py", "skypilot_wandb_worker.py", "install.py"):
            helped = subprocess.run([sys.executable, str(installed / "scripts" / script), "--help"],
                                    capture_output=True, text=True, timeout=60, env=env, cwd=cwd)
            self.assertEqual(helped.returncode, 0, helped.stderr)
            self.assertIn("usage:", helped.stdout)
        named = set(re.findall(r"(?<![\w/.-])((?:references|scripts|examples|agents)/[\w./-]+\.\w+)",
                               (installed / "SKILL.md").read_text()))
        self.assertTrue(named)
        for rel in named:
            self.assertTrue((installed / rel).exists(), rel)
        self.assertTrue(list((installed / "scripts" / "metaopt_lib" / "__pycache__").glob("*.pyc")))
        gone = subprocess.run([sys.executable, str(installed / "scripts" / "install.py"), "--host", "copilot",
                               "--scope", "user", "--uninstall"], capture_output=True, text=True, timeout=120,
                              env=env, cwd=cwd)
        self.assertEqual(gone.returncode, 0, gone.stderr)
        self.assertEqual(list(self.home.iterdir()), [], "the byte-code of the installed scripts went with them")

    def test_a_deep_project_gets_its_uninstall_command_whole(self):
        """The report's lines are at most 300 characters; the uninstall command is never cut to fit."""
        deep = self.tmp / ("a-rather-long-directory-name-" * 4) / ("and-another-one-below-it-" * 4) / "project"
        deep.mkdir(parents=True)
        self.project = deep
        report = self.run_install("claude")
        command = report["uninstall_command"]
        self.assertGreater(len(command), 300)
        self.assertIn("uninstall_command", report["next"])
        self.assertLessEqual(len(report["next"]), 300)
        gone = subprocess.run(shlex.split(command.replace("python3", sys.executable, 1)), capture_output=True,
                              text=True, timeout=120)
        self.assertEqual(gone.returncode, 0, gone.stderr)
        self.assertEqual(json.loads(gone.stdout)["mode"], "uninstall")
        self.assertEqual(list(deep.iterdir()), [])
        self.assertNotIn("uninstall_command", json.loads(gone.stdout))

    def test_uninstall_removes_the_byte_code_of_its_modules_only(self):
        self.run_install("claude")
        scripts = self.project / ".claude" / "skills" / SKILL / "scripts"
        ours = scripts / "__pycache__" / "metaopt.cpython-311.pyc"
        mine = scripts / "__pycache__" / "my_helper.cpython-311.pyc"
        for path in (ours, mine):
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(b"byte-code")
        self.run_install("claude", "--uninstall")
        self.assertFalse(ours.exists())
        self.assertEqual(sorted(p.name for p in scripts.rglob("*")), ["__pycache__", mine.name],
                         "a file that is not byte-code of an installed module stays, with its directories")


if __name__ == "__main__":
    unittest.main()
