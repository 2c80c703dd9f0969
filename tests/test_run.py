"""`metaopt.py run` through whole campaigns with each dispatcher: the built-in heuristic workers, and
the Codex, Claude Code and Copilot CLIs played by a stand-in at the CLI seam (tests/worker_cli_standin.py)
that checks the argv and prompt it gets. The sweeps run on the stand-in executor and simulated clock
of the simulation tests; tests/test_run_local.py runs the real executor."""
from __future__ import annotations

import io
import json
import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401
import metaopt
import sim_host
import worker_cli_standin
from metaopt_lib.contract import validation
from metaopt_lib.contract.atomic_io import write_json_atomic
from metaopt_lib.contract.process_group import group_alive, session_pids
from metaopt_lib.control.executor_runs import SubprocessExecutor
from metaopt_lib.control.run_progress import Progress

SPACE = {"lr": {"distribution": "log_uniform_values", "min": 1.0e-5, "max": 0.1},
         "batch_size": {"values": [64, 128, 256]}}
CLIS = ("codex", "claude", "copilot")


class RunCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root, self.standin, variables = worker_cli_standin.world(Path(tmp.name).resolve())
        patcher = mock.patch.dict(os.environ, variables)
        patcher.start()
        self.addCleanup(patcher.stop)

    def project(self, space=SPACE, iterations=1, **overrides):
        """One iteration unless a test needs more: each worker lane is dispatched once in it."""
        settings = {"stop_conditions.max_iterations": iterations, "proposal_policy.ideation_workers": 1,
                    "proposal_policy.max_worker_attempts": 2, **({"search_space": space} if space else {})}
        sim_host.write_project(self.root, **{**settings, **overrides})

    def run_campaign(self, workers, *extra, modes=()):
        (self.standin / "modes.json").write_text(json.dumps(list(modes)))
        out, err = io.StringIO(), io.StringIO()
        code = metaopt.main(["run", "--project-root", str(self.root), "--workers", workers, "--json", *extra],
                            out=out, clock=sim_host.SimClock(self.root),
                            executor=SubprocessExecutor(script=sim_host.SIM_EXECUTOR), progress=Progress(stream=err))
        document = json.loads(out.getvalue())
        self.assertEqual(validation.validate_document("run-output", document, "run output"), [])
        return code, document, err.getvalue()

    def calls(self) -> list:
        path = self.standin / "calls.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def state(self) -> dict:
        return support.campaign_view(self.root)

    def tasks(self) -> list:
        """Every task of the campaign, open or closed (closed ones are archived)."""
        metaopt_dir = self.root / ".ml-metaopt"
        paths = list((metaopt_dir / "tasks").rglob("*.json")) + list((metaopt_dir / "archive" / "tasks").rglob("*.json"))
        return sorted((json.loads(p.read_text()) for p in paths), key=lambda t: t["task_id"])

    def result_of(self, task) -> dict:
        path = self.root / task["result_path"]
        if not path.exists():
            path = self.root / task["result_path"].replace(".ml-metaopt/", ".ml-metaopt/archive/", 1)
        return json.loads(path.read_text())


class WholeCampaigns(RunCase):
    def test_heuristic_workers_run_a_campaign_to_complete(self):
        self.project(iterations=2)
        code, document, err = self.run_campaign("heuristic")
        self.assertEqual((code, document["machine_state"]), (0, "COMPLETE"), err)
        self.assertEqual(document["workers"], {"dispatcher": "heuristic", "dispatched": 6, "failed": 0})
        self.assertEqual(len(self.state()["completed_iterations"]), 2)
        self.assertEqual(document["report_path"], str(self.root / ".ml-metaopt" / "reports" / "final.md"))
        self.assertIn("Report: " + document["report_path"], err)
        self.assertIn("iteration 2 WAIT_FOR_SWEEP", err, "a line per state change")
        self.assertEqual(self.calls(), [], "no CLI was started")

    def test_a_blocked_campaign_stops_the_run_and_resume_continues_it_once_fixed(self):
        self.project()
        scenario = sim_host.load_scenario(self.root)
        write_json_atomic(self.root / ".sim" / "scenario.json", dict(scenario.__dict__, smoke_passes=False))
        code, document, err = self.run_campaign("heuristic")
        self.assertEqual((code, document["machine_state"]), (4, "BLOCKED_CONFIG"), err)
        self.assertTrue(any("resume" in line for line in document["stop"]["user_can"]))
        write_json_atomic(self.root / ".sim" / "scenario.json", scenario.__dict__)
        code, document, err = self.run_campaign("heuristic", "--resume")
        self.assertEqual((code, document["machine_state"]), (0, "COMPLETE"), err)

    def test_each_cli_dispatcher_runs_a_campaign_to_complete(self):
        for cli in CLIS:
            with self.subTest(cli=cli):
                self.setUp()
                self.project()
                code, document, err = self.run_campaign(cli)
                self.assertEqual((code, document["machine_state"]), (0, "COMPLETE"), err)
                self.assertEqual(document["workers"], {"dispatcher": cli, "dispatched": 3, "failed": 0})
                calls = self.calls()
                self.assertEqual([c["problems"] for c in calls], [[]] * 3)
                self.assertEqual({c["cwd"] for c in calls}, {str(self.root)})
                # every result the CLI produced was accepted: no task needed a second attempt
                self.assertEqual({t["attempt"] for t in self.tasks()}, {1})
                logs = sorted(p.stem for p in (self.root / ".ml-metaopt" / "logs" / "workers").glob("*.log"))
                self.assertEqual(logs, sorted(t["task_id"] for t in self.tasks()))

    def test_the_model_comes_from_the_registry_by_model_class(self):
        self.project()
        self.run_campaign("claude")
        tasks = {t["task_id"]: t for t in self.tasks()}
        models = {}
        for call in self.calls():
            task = tasks[worker_cli_standin._task_path(call["prompt"]).stem]
            models[task["worker"]] = worker_cli_standin._value(call["argv"], "--model")
        self.assertEqual(models, {"metaopt-ideation-worker": "opus", "metaopt-selection-worker": "opus",
                                  "metaopt-analysis-worker": "sonnet"})

    def test_codex_answers_in_strict_form_and_the_result_is_the_real_one(self):
        self.project()
        code, _, err = self.run_campaign("codex")
        self.assertEqual(code, 0, err)
        selection = [t for t in self.tasks() if t["worker"] == "metaopt-selection-worker"][0]
        result = self.result_of(selection)
        self.assertIsInstance(result["sweep_config"], dict, "the JSON string was turned back into the config")
        self.assertNotIn("failure_reason", result, "a null optional field is dropped")


class FailingWorkers(RunCase):
    def test_a_failed_turn_is_retried_with_its_reason(self):
        for cli in CLIS:
            with self.subTest(cli=cli):
                self.setUp()
                self.project()
                code, document, err = self.run_campaign(cli, modes=["fail"])
                self.assertEqual((code, document["machine_state"]), (0, "COMPLETE"), err)
                self.assertEqual(document["workers"]["failed"], 1)
                retry = [t for t in self.tasks() if t["attempt"] == 2]
                self.assertEqual(len(retry), 1)
                self.assertEqual(retry[0]["previous_errors"][0]["rule"], "worker.reported_failure")
                self.assertIn(cli, retry[0]["previous_errors"][0]["message"])

    def test_garbage_is_rejected_by_the_gate_and_retried(self):
        for cli in CLIS:
            with self.subTest(cli=cli):
                self.setUp()
                self.project()
                code, document, err = self.run_campaign(cli, modes=["garbage"])
                self.assertEqual((code, document["machine_state"]), (0, "COMPLETE"), err)
                [retry] = [t for t in self.tasks() if t["attempt"] == 2]
                self.assertEqual(retry["previous_errors"][0]["rule"], "parse.json_syntax")

    def test_a_worker_that_writes_nothing_gets_a_failed_result_and_a_retry(self):
        self.project()
        code, _, err = self.run_campaign("claude", modes=["nothing"])
        self.assertEqual(code, 0, err)
        [retry] = [t for t in self.tasks() if t["attempt"] == 2]
        self.assertIn("without writing the result file", retry["previous_errors"][0]["message"])

    def test_a_hung_worker_is_stopped_at_the_timeout_with_everything_it_started(self):
        self.project()
        code, document, err = self.run_campaign("copilot", "--worker-timeout", "2", modes=["hang"])
        self.assertEqual((code, document["machine_state"]), (0, "COMPLETE"), err)
        [retry] = [t for t in self.tasks() if t["attempt"] == 2]
        self.assertIn("did not finish within 2 s", retry["previous_errors"][0]["message"])
        leader = int((self.standin / "hang.pids").read_text().split()[0])  # leads the CLI's session
        self.assertEqual((group_alive(leader), session_pids(leader)), (False, []), "the worker's processes survived")

    def test_a_worker_failing_every_attempt_blocks_the_campaign(self):
        self.project()
        code, document, err = self.run_campaign("codex", modes=["fail", "fail"])
        self.assertEqual((code, document["machine_state"]), (4, "BLOCKED_PROTOCOL"), err)
        self.assertEqual(document["stop"]["terminal_state"], "BLOCKED_PROTOCOL")
        self.assertIn("model overloaded", document["summary"])


class Refusals(RunCase):
    def assert_refused(self, code, out_text, error_code):
        document = json.loads(out_text)
        self.assertEqual((code, document["error"]["code"]), (1, error_code))
        self.assertEqual(validation.validate_document("run-output", document, "run output"), [])
        self.assertFalse((self.root / ".ml-metaopt" / "state.json").exists(), "nothing was started")

    def main(self, *argv):
        out = io.StringIO()
        with mock.patch("sys.stderr", io.StringIO()):
            code = metaopt.main(["run", "--project-root", str(self.root), "--json", *argv], out=out,
                                progress=Progress(stream=io.StringIO()))
        return code, out.getvalue()

    def test_a_missing_cli_is_named_with_how_to_install_it(self):
        self.project()
        with mock.patch.dict(os.environ, {"PATH": "/usr/bin:/bin"}):
            code, text = self.main("--workers", "codex")
        self.assert_refused(code, text, "worker-cli-missing")
        self.assertIn("npm install -g @openai/codex", json.loads(text)["error"]["message"])

    def test_heuristic_workers_need_a_search_space(self):
        self.project(space=None)
        code, text = self.main("--workers", "heuristic")
        self.assert_refused(code, text, "campaign-needs-search-space")

    def test_a_worker_timeout_longer_than_the_campaigns_is_refused(self):
        self.project()
        code, text = self.main("--workers", "claude", "--worker-timeout", "7200")
        self.assert_refused(code, text, "worker-timeout-too-long")

    def test_run_takes_no_replay_options(self):
        self.project()
        with mock.patch("sys.stderr", io.StringIO()), self.assertRaises(SystemExit) as raised:
            metaopt.main(["run", "--project-root", str(self.root), "--no-executor"])
        self.assertEqual(raised.exception.code, 2)


if __name__ == "__main__":
    unittest.main()
