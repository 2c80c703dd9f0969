"""Two `metaopt.py step` processes on one campaign: the single-writer lock lets one apply at a time; a
step that finds the lock taken exits 3 (busy) and changes nothing."""
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import support
import sim_host

from metaopt_lib.contract import validation

METAOPT = support.SCRIPTS / "metaopt.py"
STATE = ".ml-metaopt/state.json"
JOURNAL = ".ml-metaopt/journal.jsonl"
ROUNDS = 10


def command(root, name="step"):
    argv = [sys.executable, str(METAOPT), name, "--project-root", str(root), "--json"]
    return argv + ([] if name == "status" else ["--now", sim_host.Host(root).clock])


def journal(root) -> list:
    path = Path(root) / JOURNAL
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def snapshot(root) -> dict:
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "lock"}


class ConcurrencyCase(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = Path(tmp.name)
        sim_host.write_project(self.root)

    def parse(self, proc_code, stdout, stderr):
        """The one JSON document a step printed, checked against the step-output contract."""
        self.assertNotIn("Traceback", stderr)
        document = json.loads(stdout)
        self.assertEqual(validation.validate_document("step-output", document, "stdout"), [])
        if proc_code == 3:
            self.assertEqual(document["error"]["code"], "busy")
            self.assertIn(document["error"]["message"], stderr)
        return document

    def hold_lock(self):
        """Take the campaign's writer lock the way a running step does."""
        lock = self.root / ".ml-metaopt" / "lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd

    def release(self, fd):
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class HeldLock(ConcurrencyCase):
    """Deterministic: the test holds the lock while a step runs."""

    def test_step_and_resume_exit_busy_and_change_nothing(self):
        host = sim_host.Host(self.root)
        for _ in range(3):
            _, document = host.step()
            host.act(document["action"])
        before = snapshot(self.root)
        fd = self.hold_lock()
        try:
            for name in ("step", "resume"):
                with self.subTest(command=name):
                    proc = subprocess.run(command(self.root, name), capture_output=True, text=True, timeout=60)
                    self.assertEqual(proc.returncode, 3, proc.stdout + proc.stderr)
                    self.parse(proc.returncode, proc.stdout, proc.stderr)
                    self.assertEqual(snapshot(self.root), before, "a busy step changed the project")
            # status reads without the lock: a person can look while a step runs.
            proc = subprocess.run(command(self.root, "status"), capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["machine_state"],
                             json.loads(before[STATE])["machine_state"])
        finally:
            self.release(fd)
        seq = json.loads((self.root / STATE).read_text())["step_seq"]
        code, document = host.step()
        self.assertEqual(code, 0)
        self.assertGreater(json.loads((self.root / STATE).read_text())["step_seq"], seq,
                           "once the lock is free the step applies")

    def test_busy_on_a_fresh_project_creates_no_state(self):
        fd = self.hold_lock()
        try:
            proc = subprocess.run(command(self.root), capture_output=True, text=True, timeout=60)
        finally:
            self.release(fd)
        self.assertEqual(proc.returncode, 3)
        self.parse(proc.returncode, proc.stdout, proc.stderr)
        self.assertFalse((self.root / STATE).exists())
        self.assertFalse((self.root / JOURNAL).exists())


class Race(ConcurrencyCase):
    """Two steps started together, round after round, while the simulated host carries out the actions."""

    def test_two_steps_started_together(self):
        host = sim_host.Host(self.root, no_executor=True)
        for number in range(ROUNDS):
            known = len(journal(self.root))
            seq_before = json.loads((self.root / STATE).read_text())["step_seq"] if number else 0
            processes = [subprocess.Popen(command(self.root), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True) for _ in range(2)]
            finished = []
            for process in processes:
                stdout, stderr = process.communicate(timeout=120)
                finished.append((process.returncode, stdout, stderr))
            codes = [code for code, _, _ in finished]
            self.assertTrue(set(codes) <= {0, 3}, f"round {number}: {finished}")
            self.assertIn(0, codes, f"round {number}: one of the two always gets the lock")
            documents = [(code, self.parse(code, out, err)) for code, out, err in finished]
            # Every state write is one journal line with the next sequence number: nothing was applied
            # twice or lost between the two steppers.
            writes = [e for e in journal(self.root) if "applied_to" in e or e.get("event") == "init"]
            seqs = [entry["seq"] for entry in writes]
            self.assertEqual(seqs, list(range(seqs[0], seqs[-1] + 1)), f"round {number}: {seqs}")
            state = json.loads((self.root / STATE).read_text())
            self.assertEqual(validation.validate_document("state", state, "state.json"), [])
            self.assertEqual(state["step_seq"], seqs[-1])
            self.assertEqual(len([e for e in journal(self.root)[known:] if "applied_to" in e]),
                             state["step_seq"] - seq_before, f"round {number}")
            # The stepper that ran last saw the state as it is now.
            latest = [d for code, d in documents if code == 0][-1] if codes.count(0) == 1 else None
            if latest is None:
                code, latest = host.step()
                self.assertEqual(code, 0)
            if latest["action"]["kind"] == "stop":
                break
            host.act(latest["action"])


if __name__ == "__main__":
    unittest.main()
