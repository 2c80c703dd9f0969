"""scripts/metaopt.py and the six handoff scripts as hosts and people call them: arguments and exit
codes, the step output contract over a whole simulated campaign, status, the resume refusals, and
the handoff previews that never touch state."""
import importlib
import json
import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support
import sim_host
import metaopt

from metaopt_lib.contract import machine, validation
from metaopt_lib.contract.campaign import identity_hash, runtime_config_hash
from metaopt_lib.control import driver, engine
from metaopt_lib.control.state_store import CampaignDir

METAOPT = support.SCRIPTS / "metaopt.py"
STATE = ".ml-metaopt/state.json"
JOURNAL = ".ml-metaopt/journal.jsonl"
CAMPAIGN = "ml_metaopt_campaign.yaml"
ACTION_KINDS = {"step", "dispatch_workers", "run_executor", "stop"}
HANDOFF_MODULES = {agent: Path(script).stem for agent, script in machine.CONTROL_AGENTS.items()}
LOAD_POSITION = (1, "LOAD_CAMPAIGN", "validate_campaign")
GOVERNED = {  # a position of the simulated campaign governed by each control agent
    machine.LOAD: LOAD_POSITION,
    machine.HYDRATE: (1, "HYDRATE_STATE", "hydrate_state"),
    machine.BACKGROUND: (1, "WAIT_FOR_PROPOSALS", "gate_ideation"),
    machine.SELECT: (1, "SELECT_AND_DESIGN_SWEEP", "finalize_selection"),
    machine.REMOTE: (1, "WAIT_FOR_SWEEP", "gate_poll"),
    machine.CLOSE: (1, "ROLL_ITERATION", "roll_iteration"),
}
COMPLETE = (2, "COMPLETE", "stopped")

_WORLD = {}


def _observe(root, code, document):
    """Facts about each step output, checked while the files it names are still in place."""
    _WORLD["outputs"].append((code, document))
    action = document.get("action", {})
    if action.get("kind") == "run_executor":
        command = action["command"]
        directive = Path(command[-1])
        _WORLD["commands"].append((command, directive.is_file(),
                                   (root / ".ml-metaopt" / "directives").resolve() in directive.resolve().parents))
    for worker in action.get("workers", []):
        _WORLD["tasks"].append((worker["task_path"], (root / worker["task_path"]).is_file()))


def setUpModule():
    tmp = tempfile.TemporaryDirectory()
    _WORLD.update(tmp=tmp, outputs=[], commands=[], tasks=[], count=0)
    base = Path(tmp.name)
    root = base / "run"
    root.mkdir()
    sim_host.write_project(root, **{"stop_conditions.max_iterations": 2})
    positions = sim_host.checkpoints(root, base / "positions", observe=_observe)
    load = base / "positions" / "load-campaign"
    load.mkdir()
    sim_host.write_project(load, **{"stop_conditions.max_iterations": 2})
    cdir = CampaignDir(load)
    campaign, _ = cdir.campaign()
    cdir.write_state(engine.initial_state(campaign, identity_hash(campaign), runtime_config_hash(campaign),
                                          sim_host.START))
    positions[LOAD_POSITION] = load
    _WORLD["positions"] = positions


def tearDownModule():
    _WORLD.pop("tmp").cleanup()


def fresh_copy(key) -> Path:
    _WORLD["count"] += 1
    target = Path(_WORLD["tmp"].name) / "work" / f"case-{_WORLD['count']}"
    shutil.copytree(_WORLD["positions"][key], target, symlinks=True)
    return target


def fresh_project() -> Path:
    _WORLD["count"] += 1
    root = Path(_WORLD["tmp"].name) / "work" / f"fresh-{_WORLD['count']}"
    root.mkdir(parents=True)
    sim_host.write_project(root)
    return root


def clock(root) -> str:
    return (Path(root) / ".sim" / "clock").read_text().strip()


def tree(root, skip=()) -> dict:
    root = Path(root)
    return {rel: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != "lock"
            for rel in [p.relative_to(root).as_posix()] if not rel.startswith(tuple(skip))}


def run(argv, main=metaopt.main):
    code, out, err = support.run_cli(main, argv)
    if "Traceback" in err:
        raise AssertionError(err)
    return code, out, err


def metaopt_args(command, root, *extra, json_output=True, now=True):
    argv = [command, "--project-root", str(root)] + (["--json"] if json_output else [])
    if now and command != "status":
        argv += ["--now", clock(root)]
    return argv + list(extra)


def valid_output(testcase, document):
    testcase.assertEqual(validation.validate_document("step-output", document, "step output"), [])


# == metaopt.py: arguments =============================================================================

class Usage(unittest.TestCase):
    def test_help_exits_0(self):
        code, out, _ = run(["--help"])
        self.assertEqual(code, 0)
        self.assertIn("usage: metaopt.py", out)
        for command in ("step", "status", "resume", "--project-root", "--json", "--now"):
            self.assertIn(command, out)

    def test_help_of_the_script_itself(self):
        proc = subprocess.run([sys.executable, str(METAOPT), "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("usage: metaopt.py", proc.stdout)

    def test_usage_errors_exit_2_with_nothing_on_stdout(self):
        root = fresh_project()
        cases = {
            "no command": [],
            "no command but a root": ["--project-root", str(root)],
            "unknown command": ["frobnicate", "--project-root", str(root)],
            "missing --project-root": ["step"],
            "--now not a time": ["step", "--project-root", str(root), "--now", "yesterday"],
            "--now without a zone": ["step", "--project-root", str(root), "--now", "2026-11-22T08:00:00"],
            "--now impossible date": ["step", "--project-root", str(root), "--now", "2026-02-30T00:00:00Z"],
            "--now empty": ["resume", "--project-root", str(root), "--now", ""],
            "unknown option": ["status", "--project-root", str(root), "--verbose"],
        }
        for name, argv in cases.items():
            with self.subTest(case=name):
                code, out, err = run(argv)
                self.assertEqual(code, 2)
                self.assertEqual(out, "")
                self.assertIn("usage: metaopt.py", err)
        self.assertFalse((root / STATE).exists())

    def test_project_root_that_is_a_file_is_a_clear_error(self):
        path = Path(_WORLD["tmp"].name) / "work" / "a-file"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not a project")
        code, out, _ = run(["step", "--project-root", str(path), "--json", "--now", sim_host.START])
        self.assertEqual(code, 1)
        valid_output(self, json.loads(out))

    def test_missing_project_root_is_a_clear_error_and_creates_nothing(self):
        missing = Path(_WORLD["tmp"].name) / "work" / "no-such-dir" / "project"
        for command in ("step", "resume", "status"):
            with self.subTest(command=command):
                code, out, _ = run(metaopt_args(command, missing, now=False))
                self.assertEqual(code, 1)
                valid_output(self, json.loads(out))
        self.assertFalse(missing.parent.exists(), "a mistyped --project-root must not create directories")

    def test_now_at_the_end_of_time_never_raises(self):
        root = fresh_project()
        for _ in range(4):
            code, out, _ = run(["step", "--project-root", str(root), "--json", "--now", "9999-12-31T23:59:59Z"])
            self.assertIn(code, (0, 1, 2))


# == metaopt.py status ================================================================================

class Status(unittest.TestCase):
    def test_status_without_state_exits_1_with_an_error_report(self):
        root = fresh_project()
        code, out, err = run(metaopt_args("status", root))
        self.assertEqual(code, 1)
        document = json.loads(out)
        valid_output(self, document)
        self.assertEqual(document["error"]["code"], "state-invalid")
        self.assertIn(document["error"]["message"], err)
        code, text, _ = run(metaopt_args("status", root, json_output=False))
        self.assertEqual(code, 1)
        self.assertTrue(text.startswith("error (state-invalid): "), text)
        self.assertFalse((root / ".ml-metaopt" / "state.json").exists())

    def test_status_json_and_text_after_a_few_steps(self):
        root = fresh_copy((2, "WAIT_FOR_SWEEP", "gate_poll"))
        before = tree(root)
        code, out, _ = run(metaopt_args("status", root))
        self.assertEqual(code, 0)
        view = json.loads(out)
        self.assertEqual(validation.validate_document("status-output", view, "status"), [])
        self.assertEqual((view["machine_state"], view["phase"], view["iteration"], view["status"]),
                         ("WAIT_FOR_SWEEP", "gate_poll", 2, "RUNNING"))
        self.assertEqual(view["budget"], {"max_budget_usd": 5.0, "spent_usd": 0.1, "remaining_usd": 4.9})
        self.assertEqual(view["current_sweep"]["sweep_identity"], "sim-campaign-iter-2")
        self.assertEqual(view["baseline"], 0.9)
        self.assertEqual(view["next_action"]["kind"], "step")
        self.assertTrue(view["pending"] and 0 < len(view["recent"]) <= 5)
        code, text, _ = run(metaopt_args("status", root, json_output=False))
        self.assertEqual(code, 0)
        for fragment in ("WAIT_FOR_SWEEP", "iteration 2", "spend", "$0.10 of $5.00", "next: step",
                         "sim-campaign-iter-2", "baseline     0.9", "val_loss, lower is better"):
            self.assertIn(fragment, text)
        self.assertLessEqual(len(text.splitlines()), 20, "one screen")
        self.assertEqual(tree(root), before, "status is read-only")

    def test_status_of_a_blocked_campaign_says_why_and_the_fix(self):
        root = fresh_project()
        (root / ".ml-metaopt" / "preflight-readiness.json").unlink()
        self.assertEqual(run(metaopt_args("step", root))[0], 0)
        code, text, _ = run(metaopt_args("status", root, json_output=False))
        self.assertEqual(code, 0)
        self.assertIn("BLOCKED_CONFIG", text)
        self.assertIn("blocked ", text)
        self.assertIn("next: stop", text)


# == metaopt.py step ==================================================================================

class StepContract(unittest.TestCase):
    def test_every_output_of_a_full_campaign_validates(self):
        outputs = _WORLD["outputs"]
        self.assertGreater(len(outputs), 10)
        for number, (code, document) in enumerate(outputs):
            with self.subTest(step=number):
                self.assertEqual(code, 0)
                valid_output(self, document)
        self.assertEqual(outputs[-1][1]["action"]["terminal_state"], "COMPLETE")

    def test_every_action_kind_is_seen(self):
        seen = {document["action"]["kind"] for _, document in _WORLD["outputs"]}
        # Under a frozen clock the backoff after a failed poll is handed back as "step, not before".
        root = fresh_copy((2, "WAIT_FOR_SWEEP", "gate_poll"))
        (root / ".sim" / "scenario.json").write_text(json.dumps(sim_host.Scenario(poll_failures=1).__dict__))
        sim_host.Host(root, no_executor=True).act(json.loads(run(metaopt_args("step", root))[1])["action"])
        code, out, _ = run(metaopt_args("step", root))
        waiting = json.loads(out)
        valid_output(self, waiting)
        self.assertEqual((code, waiting["action"]["kind"]), (0, "step"))
        self.assertGreater(waiting["action"]["until"], clock(root))
        self.assertEqual(seen | {"step"}, ACTION_KINDS)

    def test_run_executor_command_is_an_argv_ending_with_an_existing_directive(self):
        self.assertTrue(_WORLD["commands"])
        for command, existed, under_directives in _WORLD["commands"]:
            with self.subTest(command=command):
                self.assertIsInstance(command, list)
                self.assertTrue(all(isinstance(part, str) and part for part in command))
                self.assertEqual(command[-2], "--directive")
                self.assertTrue(existed, "the directive file exists when the command is printed")
                self.assertTrue(under_directives, "the directive lives under .ml-metaopt/directives/")

    def test_dispatched_task_files_exist(self):
        self.assertTrue(_WORLD["tasks"])
        for task_path, existed in _WORLD["tasks"]:
            self.assertTrue(existed, task_path)

    def test_text_form_names_state_iteration_spend_and_next_action(self):
        root = fresh_copy((2, "LAUNCH_SWEEP", "confirm_launch"))
        code, text, _ = run(metaopt_args("step", root, json_output=False))
        self.assertEqual(code, 0)
        for fragment in ("LAUNCH_SWEEP, iteration 2: ", "next: run_executor", "--directive"):
            self.assertIn(fragment, text)


# == metaopt.py resume ================================================================================

class Resume(unittest.TestCase):
    def test_resume_of_a_running_campaign_or_one_still_at_its_limit_exits_1(self):
        # The simulated campaign completed at max_iterations 2: resuming it without raising that limit
        # is refused, naming the limit.
        for key, code_name in (((1, "WAIT_FOR_PROPOSALS", "gate_ideation"), "not-blocked"),
                               (COMPLETE, "not-resumable")):
            with self.subTest(position=key):
                root = fresh_copy(key)
                before = tree(root)
                code, out, _ = run(metaopt_args("resume", root))
                self.assertEqual(code, 1)
                document = json.loads(out)
                valid_output(self, document)
                self.assertEqual(document["error"]["code"], code_name)
                if key == COMPLETE:
                    self.assertIn("max_iterations", document["error"]["message"])
                self.assertEqual(tree(root), before)

    def test_resume_while_cleanup_is_pending_exits_1_then_resumes_after_it(self):
        root = fresh_copy((1, "WAIT_FOR_SWEEP", "gate_poll"))
        good = (root / CAMPAIGN).read_text()
        (root / CAMPAIGN).write_text(good.replace("run_cap: 4", "run_cap: -1"))
        code, out, _ = run(metaopt_args("step", root))
        document = json.loads(out)
        self.assertEqual((code, document["machine_state"]), (0, "BLOCKED_CONFIG"))
        self.assertEqual(document["action"]["kind"], "run_executor", "the live sweep is torn down first")
        (root / CAMPAIGN).write_text(good)
        before = tree(root)
        code, out, _ = run(metaopt_args("resume", root))
        self.assertEqual(code, 1)
        report = json.loads(out)
        valid_output(self, report)
        self.assertEqual(report["error"]["code"], "cleanup-pending")
        self.assertEqual(tree(root), before)
        host = sim_host.Host(root, no_executor=True)
        host.act(document["action"])
        code, out, _ = run(metaopt_args("step", root))
        self.assertEqual((code, json.loads(out)["action"]["kind"]), (0, "stop"))
        code, out, _ = run(metaopt_args("resume", root))
        document = json.loads(out)
        self.assertEqual(code, 0, document)
        valid_output(self, document)
        resumed = [json.loads(line) for line in (root / JOURNAL).read_text().splitlines()
                   if json.loads(line).get("event") == "resume"]
        self.assertEqual([(e["from"], e["to"]) for e in resumed], [("BLOCKED_CONFIG", "WAIT_FOR_SWEEP")])
        self.assertEqual(document["machine_state"], "WAIT_FOR_SWEEP")


# == the six handoff scripts ===========================================================================

def handoff_main(agent):
    return importlib.import_module(HANDOFF_MODULES[agent]).main


def previews(root) -> list:
    return sorted((Path(root) / ".ml-metaopt" / "handoffs" / "previews").glob("*.json"))


class HandoffScripts(unittest.TestCase):
    def test_six_scripts(self):
        self.assertEqual(len(HANDOFF_MODULES), 6)
        for agent, module in HANDOFF_MODULES.items():
            self.assertTrue((support.SCRIPTS / f"{module}.py").is_file(), module)

    def test_help_exits_0(self):
        for agent in HANDOFF_MODULES:
            with self.subTest(agent=agent):
                code, out, _ = run(["--help"], handoff_main(agent))
                self.assertEqual(code, 0)
                self.assertIn("--project-root", out)
                self.assertIn("--phase", out)

    def test_governed_state_prints_an_envelope_and_keeps_previews_without_touching_state(self):
        for agent, key in GOVERNED.items():
            with self.subTest(agent=agent):
                root = fresh_copy(key)
                state = json.loads((root / STATE).read_text())
                before = tree(root, skip=(".ml-metaopt/handoffs/previews/",))
                printed = []
                for attempt in range(2):
                    code, out, err = run(["--project-root", str(root)], handoff_main(agent))
                    self.assertEqual(code, 0, err)
                    envelope = json.loads(out)
                    self.assertEqual(validation.validate_document("handoff-envelope", envelope, "stdout",
                                                                  validation.Context(state=state)), [])
                    self.assertEqual((envelope["agent"], envelope["computed_from_state"], envelope["phase"]),
                                     (agent, key[1], key[2]))
                    printed.append(envelope)
                    if attempt == 0:
                        first = {p: p.read_bytes() for p in previews(root)}
                        self.assertEqual(len(first), 1)
                files = previews(root)
                self.assertEqual(len(files), 2, "two runs keep two previews")
                for path, data in first.items():
                    self.assertEqual(path.read_bytes(), data, "a preview is never overwritten")
                self.assertEqual(sorted(json.loads(p.read_text())["summary"] for p in files),
                                 sorted(e["summary"] for e in printed))
                self.assertEqual(tree(root, skip=(".ml-metaopt/handoffs/previews/",)), before,
                                 "a handoff script changes nothing but its previews")

    def test_matching_phase_is_accepted(self):
        root = fresh_copy(GOVERNED[machine.REMOTE])
        code, _, err = run(["--project-root", str(root), "--phase", "gate_poll"], handoff_main(machine.REMOTE))
        self.assertEqual(code, 0, err)

    def test_state_governed_by_another_agent_exits_1(self):
        for agent in HANDOFF_MODULES:
            other = GOVERNED[machine.HYDRATE] if agent != machine.HYDRATE else GOVERNED[machine.CLOSE]
            for key in (other, COMPLETE):
                with self.subTest(agent=agent, position=key):
                    root = fresh_copy(key)
                    before = tree(root)
                    code, out, err = run(["--project-root", str(root)], handoff_main(agent))
                    self.assertEqual(code, 1)
                    report = json.loads(out)
                    valid_output(self, report)
                    self.assertIn(report["error"]["message"], err)
                    self.assertEqual(tree(root), before, "no preview, no change")

    def test_phase_not_matching_the_state_exits_1(self):
        cases = {machine.BACKGROUND: "plan_ideation", machine.SELECT: "plan_selection",
                 machine.REMOTE: "request_poll"}
        for agent, phase in cases.items():
            with self.subTest(agent=agent, phase=phase):
                root = fresh_copy(GOVERNED[agent])
                before = tree(root)
                code, out, _ = run(["--project-root", str(root), "--phase", phase], handoff_main(agent))
                self.assertEqual(code, 1)
                report = json.loads(out)
                valid_output(self, report)
                self.assertIn(phase, report["error"]["fix"] + report["error"]["message"])
                self.assertEqual(tree(root), before)

    def test_unknown_phase_exits_2(self):
        root = fresh_copy(GOVERNED[machine.BACKGROUND])
        for agent in HANDOFF_MODULES:
            for phase in ("bogus", "roll_iteration" if agent != machine.CLOSE else "gate_poll"):
                with self.subTest(agent=agent, phase=phase):
                    code, out, err = run(["--project-root", str(root), "--phase", phase], handoff_main(agent))
                    self.assertEqual(code, 2)
                    self.assertEqual(out, "")
                    self.assertIn("usage:", err)
        self.assertEqual(previews(root), [])

    def test_missing_project_root_exits_2(self):
        for agent in HANDOFF_MODULES:
            with self.subTest(agent=agent):
                code, out, _ = run([], handoff_main(agent))
                self.assertEqual((code, out), (2, ""))


if __name__ == "__main__":
    unittest.main()
