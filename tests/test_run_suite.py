"""tests/run_suite.py, the suite's command: unittest's summary, its exit code, and a scratch TMPDIR of
its own that is gone when it ends."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import run_suite

RUNNER = Path(run_suite.__file__)


def scratch_dirs() -> set:
    """The suite scratch directories that exist now (the one of a suite running this test aside)."""
    bases = {run_suite.RAM_DIR, tempfile.gettempdir(), os.path.dirname(os.environ.get("TMPDIR", "")) or "/tmp"}
    found = set()
    for base in bases:
        try:
            found |= {os.path.join(base, n) for n in os.listdir(base) if n.startswith("metaopt-suite-")}
        except OSError:
            pass
    return found - {os.environ.get("TMPDIR")}


class RunSuite(unittest.TestCase):
    def run_suite(self, *args):
        return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, timeout=300,
                              stdin=subprocess.DEVNULL)

    def test_a_module_runs_with_unittests_summary_and_leaves_no_scratch_behind(self):
        before = scratch_dirs()
        for jobs in ("1", "2"):
            with self.subTest(jobs=jobs):
                done = self.run_suite("--jobs", jobs, "test_hashing", "test_locks")
                self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
                self.assertRegex(done.stdout, r"\nRan \d+ tests in [0-9.]+s\n\nOK\n")
                self.assertIn("test_hashing", done.stdout)
                self.assertEqual(scratch_dirs() - before, set(), "the run's scratch directory was left behind")

    def test_the_tests_see_the_scratch_directory_as_their_tmpdir(self):
        with run_suite.scratch_tmpdir() as scratch:
            self.assertEqual(os.environ["TMPDIR"], scratch)
            self.assertEqual(tempfile.gettempdir(), scratch)
            Path(scratch, "left-by-a-test").mkdir()
        self.assertFalse(os.path.exists(scratch))
        self.assertNotEqual(tempfile.gettempdir(), scratch)

    def test_an_unknown_module_is_a_usage_error(self):
        done = self.run_suite("test_no_such_module")
        self.assertEqual(done.returncode, 2)
        self.assertIn("no such test module", done.stderr)


if __name__ == "__main__":
    unittest.main()
