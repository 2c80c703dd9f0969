"""The shared file locks: exclusive across processes, dropped by the kernel when the holder dies, never
inherited by a child, and the probe that tells whether someone holds one."""
import os
import signal
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support  # noqa: F401

from metaopt_lib.contract.locks import Busy, FileLock, is_locked

HOLDER = """import sys, time
sys.path.insert(0, {scripts!r})
from metaopt_lib.contract.locks import FileLock
lock = FileLock({path!r}).acquire()
print("held", flush=True)
{after}
"""


class FileLocks(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.path = Path(tmp.name) / "sub" / "x.lock"

    def holder(self, after="sys.stdin.read()"):
        """A process holding the lock until its stdin closes (or as `after` says)."""
        proc = subprocess.Popen([sys.executable, "-c", HOLDER.format(scripts=str(support.SCRIPTS),
                                                                       path=str(self.path), after=after)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        self.assertEqual(proc.stdout.readline().strip(), "held")
        return proc

    def test_another_process_holding_it_makes_acquire_busy_and_the_probe_true(self):
        proc = self.holder()
        with self.assertRaises(Busy):
            FileLock(self.path).acquire(wait=False)
        self.assertTrue(is_locked(self.path))
        proc.stdin.close()
        proc.wait(timeout=60)
        self.assertFalse(is_locked(self.path))
        FileLock(self.path).acquire(wait=False).release()

    def test_a_killed_holder_leaves_no_lock_behind(self):
        proc = self.holder()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        lock = FileLock(self.path).acquire(wait=False)
        self.assertTrue(self.path.exists())
        lock.release()

    def test_a_child_started_while_the_lock_is_held_does_not_inherit_it(self):
        lock = FileLock(self.path).acquire(wait=False)
        child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE,
                                 close_fds=False)
        self.addCleanup(child.kill)
        lock.release()
        self.assertFalse(is_locked(self.path), "the child kept the parent's lock")
        child.stdin.close()
        child.wait(timeout=60)

    def test_the_probe_of_a_missing_file_is_false_and_creates_nothing(self):
        self.assertFalse(is_locked(self.path))
        self.assertFalse(self.path.exists())

    def test_a_with_block_holds_it_and_lets_go(self):
        with FileLock(self.path):
            with self.assertRaises(Busy):
                FileLock(self.path).acquire(wait=False)
        FileLock(self.path).acquire(wait=False).release()


if __name__ == "__main__":
    unittest.main()
