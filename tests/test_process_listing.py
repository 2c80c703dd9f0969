"""How processes are found: psutil when it is installed, Linux /proc otherwise, and what is lost with neither.

Each way runs the same checks on real processes: a child that left its process group is still a member
of the session; a child that started a session of its own is still found by the sweep's environment
marker and killed; an exited, unreaped leader does not count as alive. psutil stays optional for the
skill: its tests skip cleanly where it is not installed (CI installs it, .ci/requirements.txt).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401
from metaopt_lib.contract import process_group
from metaopt_lib.contract.process_group import (group_alive, has_exited, kill_session, process_listing, session_pids,
                                                start_in_new_session)
from metaopt_lib.executor.local import processes
from metaopt_lib.executor.local.processes import SWEEP_MARKER, kill_pids, marked_pids

LINUX_PROC = Path("/proc/self/stat").is_file()
NO_PROC = Path("/nonexistent-proc")


def psutil_installed() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


def wait_until(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def gone(pid: int) -> bool:
    """No such process, or a zombie: asked of the kernel directly (os.waitpid is not ours to call)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")
    except OSError:
        return False


class ListingChecks:
    """The checks every way of listing processes must pass; a subclass picks the way in setUp."""

    listing = None

    def start(self, code, env=None):
        temp = tempfile.TemporaryDirectory()
        self.addCleanup(temp.cleanup)
        process = start_in_new_session([sys.executable, "-c", textwrap.dedent(code)], temp.name,
                                       env or os.environ, subprocess.DEVNULL, subprocess.DEVNULL)
        self.addCleanup(lambda: (kill_session(process.pid, 0), process.wait()))
        return process, Path(temp.name)

    def child_of(self, cwd):
        wait_until(lambda: (cwd / "child").exists() and (cwd / "child").read_text(), what="the child")
        child = int((cwd / "child").read_text())
        self.addCleanup(lambda: kill_pids([child], 1.0))
        return child

    def test_the_listing_in_use(self):
        self.assertEqual(process_listing(), self.listing)

    def test_a_child_that_moved_to_its_own_group_is_a_session_member_and_dies_with_the_session(self):
        process, cwd = self.start("""
            import os, pathlib, subprocess, time
            child = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: os.setpgid(0, 0))
            pathlib.Path("child").write_text(str(child.pid))
            time.sleep(60)
        """)
        child = self.child_of(cwd)
        self.assertNotEqual(os.getpgid(child), process.pid)
        self.assertEqual(session_pids(process.pid), sorted([process.pid, child]))
        self.assertTrue(kill_session(process.pid, 2))
        wait_until(lambda: gone(child), what="the moved child to die")
        self.assertEqual(session_pids(process.pid), [])

    def test_a_child_in_a_session_of_its_own_is_found_by_the_marker_and_killed(self):
        marker = tempfile.mkdtemp()
        self.addCleanup(os.rmdir, marker)
        process, cwd = self.start("""
            import os, pathlib, subprocess, time
            child = subprocess.Popen(["sleep", "60"], start_new_session=True)
            pathlib.Path("child").write_text(str(child.pid))
            time.sleep(60)
        """, env=dict(os.environ, **{SWEEP_MARKER: marker}))
        child = self.child_of(cwd)
        self.assertNotEqual(os.getsid(child), process.pid)  # out of reach of the session
        self.assertEqual(marked_pids(SWEEP_MARKER, marker), sorted([process.pid, child]))
        self.assertEqual(marked_pids(SWEEP_MARKER, marker + "-other"), [])
        kill_pids(marked_pids(SWEEP_MARKER, marker))
        wait_until(lambda: gone(child) and has_exited(process), what="both to die")
        self.assertEqual(marked_pids(SWEEP_MARKER, marker), [])

    def test_an_exited_unreaped_leader_does_not_count_as_alive(self):
        process, _ = self.start("raise SystemExit(7)")
        wait_until(lambda: has_exited(process), what="the exit")
        self.assertFalse(group_alive(process.pid))
        self.assertTrue(processes._is_zombie(process.pid))
        self.assertTrue(kill_session(process.pid, 0.1))
        self.assertEqual(process.wait(timeout=5), 7)  # left unreaped for Popen, which still gets the code


@unittest.skipUnless(psutil_installed(), "psutil is not installed (optional; pip install psutil)")
class WithPsutil(ListingChecks, unittest.TestCase):
    """psutil alone: /proc is hidden from the skill's own readers."""

    listing = "psutil"

    def setUp(self):
        for patch in (mock.patch.object(process_group, "_proc_available", lambda: False),
                      mock.patch.object(processes, "PROC", NO_PROC)):
            patch.start()
            self.addCleanup(patch.stop)


@unittest.skipUnless(LINUX_PROC, "Linux /proc is not available here")
class WithProcOnly(ListingChecks, unittest.TestCase):
    """The Linux fallback: psutil is not installed."""

    listing = "/proc"

    def setUp(self):
        patch = mock.patch.object(process_group, "psutil_module", lambda: None)
        patch.start()
        self.addCleanup(patch.stop)


class WithNeither(unittest.TestCase):
    """macOS without psutil: nothing can be listed, and the preflight and a teardown dry run say what is lost."""

    def setUp(self):
        for patch in (mock.patch.object(process_group, "psutil_module", lambda: None),
                      mock.patch.object(process_group, "PROC", NO_PROC),
                      mock.patch.object(processes, "PROC", NO_PROC)):
            patch.start()
            self.addCleanup(patch.stop)

    def test_nothing_is_listed(self):
        self.assertIsNone(process_listing())
        self.assertEqual(session_pids(os.getsid(0)), [])
        self.assertEqual(marked_pids("PATH", os.environ.get("PATH", "")), [])

    def test_a_group_still_ends_through_killpg(self):
        temp = tempfile.TemporaryDirectory()
        self.addCleanup(temp.cleanup)
        process = start_in_new_session([sys.executable, "-c", "import time; time.sleep(60)"], temp.name,
                                       os.environ, subprocess.DEVNULL, subprocess.DEVNULL)
        self.assertTrue(group_alive(process.pid))
        kill_session(process.pid, 0.5)  # the unreaped child looks alive for the grace and the settle time
        self.assertEqual(process.wait(timeout=10), -15)

    def test_the_preflight_warns_and_names_the_fix(self):
        from metaopt_lib.preflight.checks import check_process_listing
        check, failure = check_process_listing(process_listing())
        self.assertIsNone(failure)
        self.assertEqual(check["result"], "pass")
        self.assertTrue(check["detail"].startswith("warning: "))
        for words in ("left its process group", "not found", "pip install psutil"):
            self.assertIn(words, check["detail"])

    def test_a_teardown_dry_run_says_what_is_not_found(self):
        from metaopt_lib.executor.local.backend import plan
        from metaopt_lib.executor.outcome import ExecContext
        with tempfile.TemporaryDirectory() as root:
            directive = {"directive_id": "teardown-1-1", "type": "teardown", "iteration": 1,
                         "result_path": ".ml-metaopt/results/iter-1/teardown-1-1.json",
                         "payload": {"sweep_identity": "s-1", "sweep_id": "local-s-1", "backend": "local",
                                     "reason": "test"}}
            found = plan(directive, ExecContext(Path(root)))
        self.assertIsNone(found["process_listing"])
        self.assertIn("cannot kill it", found["not_found"])


if __name__ == "__main__":
    unittest.main()
