"""The executor's command line and core: usage, refusals, dry runs, recorded answers, clear failures."""
from __future__ import annotations

import io
import json
import os
import sys
import threading
import unittest
from contextlib import redirect_stderr
from unittest import mock

import support  # noqa: F401
from local_sweep_support import Project
from metaopt_lib.contract import validation
from metaopt_lib.contract.locks import FileLock

sys.path.insert(0, str(support.SCRIPTS))
import skypilot_wandb_worker  # noqa: E402


def cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err):
        try:
            code = skypilot_wandb_worker.main(list(args), out=out)
        except SystemExit as exc:
            code = exc.code
    text = out.getvalue()
    return code, (json.loads(text) if text.strip() else None), err.getvalue()


class ExecutorCliTest(unittest.TestCase):
    def setUp(self):
        self.project = Project()
        self.addCleanup(self.project.close)
        self.root = self.project.root

    def write(self, directive) -> str:
        path = self.root / "d.json"
        path.write_text(json.dumps(directive))
        return str(path)

    def run_cli(self, directive, *extra):
        return cli("run", "--project-root", str(self.root), "--directive", self.write(directive), *extra)

    def smoke(self, command):
        return self.project._directive("run_smoke_test", {"command": command, "working_dir": "repo",
                                                          "timeout_seconds": 60, "max_output_lines": 20})

    def test_a_second_executor_on_the_same_directive_waits_for_the_first(self):
        directive = self.smoke("echo done")
        path = self.write(directive)
        result = self.root / directive["result_path"]
        held = FileLock(path, create=False).acquire(wait=False)  # as an executor carrying it out holds it
        worker = threading.Thread(target=cli, args=("run", "--project-root", str(self.root), "--directive", path))
        worker.start()
        worker.join(timeout=1.0)
        self.assertTrue(worker.is_alive(), "the second executor did not wait for the first")
        self.assertFalse(result.exists())
        held.release()
        worker.join(timeout=120)
        self.assertFalse(worker.is_alive())
        self.assertEqual(json.loads(result.read_text())["status"], "ok")

    def test_wait_limit_must_be_a_number_of_seconds(self):
        for value in ("-1", "nan", "soon", "99999"):
            with self.subTest(value=value):
                code, document, err = self.run_cli(self.project.poll_directive(), "--wait-limit", value)
                self.assertEqual((code, document), (2, None))
                self.assertIn("--wait-limit", err)

    def test_usage_errors_exit_2_and_print_nothing_on_stdout(self):
        for args in ([], ["run"], ["run", "--project-root", str(self.root)], ["nope"],
                     ["run", "--project-root", str(self.root / "missing"), "--directive", "x.json"]):
            with self.subTest(args=args):
                code, document, err = cli(*args)
                self.assertEqual((code, document), (2, None))
                self.assertIn("usage", err)

    def test_an_invalid_directive_is_refused_with_its_issues_and_no_result(self):
        directive = self.project.poll_directive()
        directive["payload"]["budget"]["remaining_usd"] = 3  # 10 - 0 is not 3
        code, document, err = self.run_cli(directive)
        self.assertEqual(code, 1)
        self.assertEqual(document["error"]["code"], "directive-invalid")
        self.assertEqual(document["issues"][0]["path"], "$.payload.budget.remaining_usd")
        self.assertNotIn("Traceback", err)
        self.assertFalse((self.root / directive["result_path"]).exists())

    def test_a_mechanical_directive_is_not_run_by_the_executor(self):
        directive = self.project._directive("emit_iteration_report", {"report_path": ".ml-metaopt/reports/x.md"})
        code, document, _ = self.run_cli(directive)
        self.assertEqual((code, document["error"]["code"]), (1, "not-an-executor-directive"))

    def test_a_result_path_that_escapes_the_project_through_a_symlink_is_refused(self):
        outside = self.root.parent / (self.root.name + "-outside")
        outside.mkdir()
        self.addCleanup(outside.rmdir)
        (self.root / ".ml-metaopt").mkdir(exist_ok=True)
        os.symlink(outside, self.root / ".ml-metaopt" / "results")
        code, document, _ = self.run_cli(self.smoke("true"))
        self.assertEqual((code, document["error"]["code"]), (1, "result-path-outside-project"))
        self.assertEqual(list(outside.iterdir()), [])

    def test_dry_run_writes_nothing(self):
        directive = self.project.launch_directive({"x": {"min": 0.0, "max": 1.0}})
        code, document, _ = self.run_cli(directive, "--dry-run")
        self.assertEqual((code, document["dry_run"], document["type"]), (0, True, "launch_sweep"))
        self.assertIsNone(document["plan"]["refusal"])
        self.assertFalse((self.root / ".ml-metaopt").exists())

    def test_a_finished_smoke_test_answers_a_rerun_from_its_result(self):
        directive = self.smoke("echo run >> ../runs.txt")
        first = self.run_cli(directive)
        second = self.run_cli(directive)
        self.assertEqual(first[0], 0)
        self.assertEqual(first[1], second[1])
        self.assertEqual((self.root / "runs.txt").read_text(), "run\n")

    def test_a_poll_of_an_unknown_sweep_fails_for_good_with_a_valid_result(self):
        directive = self.project.poll_directive()
        code, result, _ = self.run_cli(directive)
        self.assertEqual((code, result["status"], result["error"]["code"]), (1, "failed", "sweep-not-found"))
        self.assertFalse(result["error"]["retryable"])
        self.assertEqual(validation.validate_document("executor-result", result, "r"), [])

    def test_a_corrupt_sweep_record_is_a_clear_failure_naming_the_file(self):
        self.project.files.root.mkdir(parents=True)
        self.project.files.spec.write_text('{"schema_version": 1, "sweep_identity": 7}')
        code, result, err = self.run_cli(self.project.poll_directive())
        self.assertEqual((code, result["error"]["code"]), (1, "record-invalid"))
        self.assertIn("sweep.json", result["error"]["message"])
        self.assertNotIn("Traceback", err)
        self.assertFalse(result["details"]["spend"]["complete"])

    def test_launch_refuses_what_the_local_backend_cannot_run_and_writes_no_sweep(self):
        cases = {
            "search-space-unsupported": ({"x": {"distribution": "beta", "a": 2, "b": 3}}, None),
            "dependency-missing": ({"x": {"min": 0.0, "max": 1.0}}, {"optuna": None}),
        }
        for code_expected, (parameters, modules) in cases.items():
            with self.subTest(code_expected), mock.patch.dict(sys.modules, modules or {}):
                directive = self.project.launch_directive(parameters, method="random")
                code, result, _ = self.run_cli(directive)
                self.assertEqual((code, result["error"]["code"]), (1, code_expected))
                self.assertFalse(result["error"]["retryable"])
                self.assertFalse(self.project.files.spec.exists())

    def test_help_names_the_run_command(self):
        out = io.StringIO()
        with mock.patch("sys.stdout", out), self.assertRaises(SystemExit) as done:
            skypilot_wandb_worker.main(["run", "--help"])
        self.assertEqual(done.exception.code, 0)
        self.assertIn("--directive", out.getvalue())


class CampaignSpendAfterAPoll(unittest.TestCase):
    def test_only_new_sweep_spend_is_added_and_spend_never_goes_down(self):
        from metaopt_lib.executor.outcome import campaign_spend_after

        budget = {"max_budget_usd": 10, "spent_usd": 5, "remaining_usd": 5}
        # 2 $ of this sweep were already in spent_usd: a poll measuring 3 $ adds 1 $, not 3 $.
        self.assertEqual(campaign_spend_after(budget, 2, 3),
                         {"max_budget_usd": 10, "spent_usd": 6, "remaining_usd": 4})
        # A lower figure (e.g. a listing that lost a cluster) never lowers the campaign's spend.
        self.assertEqual(campaign_spend_after(budget, 2, 1)["spent_usd"], 5)
        self.assertEqual(campaign_spend_after(budget, 0, 12)["remaining_usd"], 0)


if __name__ == "__main__":
    unittest.main()
