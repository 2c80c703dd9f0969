"""Crash injection: kill the host (SIGKILL or SIGTERM) at step boundaries, inside atomic writes, while
the step runs the executor or sleeps through a wait, and at random moments from outside; restart it
and compare the outcome with an uninterrupted run: same iterations, baseline and spend, one launch
per sweep, and no executor process left behind."""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import unittest
from collections import Counter
from pathlib import Path

import support
import crash_runner
from sim_host import Host, Scenario, write_project

RUNNER = Path(__file__).with_name("crash_runner.py")
# One transient poll error per sweep: every sweep has a backoff the step sleeps through. Two iterations:
# the second crosses every boundary the first does, and the close of an iteration into the next.
SCENARIO = Scenario(poll_failures=1)
SETTINGS = {"stop_conditions.max_iterations": 2}


def executor_processes(root) -> list:
    """Pids of stand-in executor processes still running for this project."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"sim_executor.py" in a for a in argv) and str(root).encode() in b" ".join(argv):
            found.append(int(entry))
    return found


def live_once(root, mode, limit, signame) -> tuple:
    """One life of the host: crash_runner.main in a child forked from this process, which has imported
    everything already (each life of a fresh `python3 tests/crash_runner.py` paid the interpreter and the
    imports again); the child dies at its kill point exactly as that process did. Returns (exit code, or
    minus the signal that ended it; what it wrote on stderr)."""
    if threading.active_count() > 1:  # forking a process with threads is unsafe: a process of its own
        run = subprocess.run([sys.executable, str(RUNNER), str(root), mode, str(limit), signame],
                             capture_output=True, text=True, timeout=300)
        return run.returncode, run.stderr
    with tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test runner
            code = 70
            try:
                os.dup2(err.fileno(), 2)
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                code = crash_runner.main(str(root), mode, limit, signame)
            except BaseException:  # noqa: BLE001 - reported on its stderr like any crash
                traceback.print_exc()
            finally:
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + 300
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                raise AssertionError(f"a life of the host ({mode} {limit}) did not end within 300 s")
            time.sleep(0.01)
        err.seek(0)
        return os.waitstatus_to_exitcode(status), err.read().decode("utf-8", "replace")


def outcome(root):
    """What must not depend on crashes (timestamps, sequence numbers and ids excluded)."""
    state = support.campaign_view(root)
    sweeps = json.loads((Path(root) / ".sim" / "sweeps.json").read_text())
    return {
        "machine_state": state["machine_state"], "iteration": state["iteration"],
        "baseline": state["baseline"]["metric_value"] if state["baseline"] else None,
        "spend": state["spend_ledger"]["total_usd"],
        "ledger": [(e["sweep_identity"], e["usd"]) for e in state["spend_ledger"]["entries"]],
        "iterations": [(r["iteration"], r["sweep_identity"], r["improved"], r["baseline_after"], r["spend_usd"])
                       for r in state["completed_iterations"]],
        "learnings": [l["text"] for l in state["learnings"]],
        "launches": {k: v["launches"] for k, v in sweeps.items() if k != "_results"},
        "pending": state["pending"],
    }


class CrashRecovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.reference_root = Path(cls.tmp.name) / "reference"
        cls.reference_root.mkdir()
        write_project(cls.reference_root, SCENARIO, **SETTINGS)
        Host(cls.reference_root).run()
        cls.reference = outcome(cls.reference_root)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def crash_repeatedly(self, mode, first, growth, signames=("KILL",)):
        """Kill the host at the first+growth*k-th event of `mode` in its k-th life, until it stops; the
        k-th life dies by the k-th of `signames` (taken in turn).

        Each life gets further than the last, so every step eventually completes, and the kills land
        at a different point of the work each time."""
        root = Path(self.tmp.name) / f"{mode}-{'-'.join(signames)}"
        root.mkdir()
        write_project(root, SCENARIO, **SETTINGS)
        crashes = Counter()
        for life in range(400):
            signame = signames[life % len(signames)]
            code, stderr = live_once(root, mode, first + growth * life, signame)
            if code == 0:
                break
            self.assertEqual(code, -getattr(signal, f"SIG{signame}"), stderr[-2000:])
            self.assertNotIn("Traceback", stderr)
            crashes[signame] += 1
        else:
            self.fail("the campaign never finished")
        self.assertGreater(sum(crashes.values()), 3)
        self.assertEqual(set(crashes), set(signames), f"every signal killed a life: {dict(crashes)}")
        self.assert_clean_end(root)
        return root

    def assert_clean_end(self, root):
        self.assertEqual(outcome(root), self.reference)
        self.assertTrue(all(count == 1 for count in outcome(root)["launches"].values()), "a sweep launched twice")
        self.assertEqual(executor_processes(root), [], "an executor process outlived the campaign")

    def test_kills_at_step_boundaries(self):
        self.crash_repeatedly("after-step", 1, 1)

    def test_a_kill_at_every_boundary_between_an_action_and_the_next_step(self):
        # Every life carries out one action and dies: the campaign crosses each boundary by a restart.
        self.crash_repeatedly("after-act", 1, 0)

    def test_kills_before_a_file_is_renamed_into_place(self):
        self.crash_repeatedly("before-replace", 1, 2)

    def test_kills_right_after_a_file_is_renamed_into_place(self):
        self.crash_repeatedly("after-replace", 2, 2)

    def test_kills_in_the_middle_of_a_history_append(self):
        # The torn line is after what the state committed: the next life cuts it off and appends again.
        self.crash_repeatedly("mid-append", 1, 1)

    def test_kills_between_a_history_append_and_the_state_that_commits_it(self):
        self.crash_repeatedly("after-append", 1, 1)

    def test_kills_while_the_step_runs_the_executor(self):
        # The executor child runs on in its own session; the next life waits for it, starts no other.
        # SIGKILL and SIGTERM in turn, each at other executor runs of the same campaign.
        self.crash_repeatedly("in-executor", 1, 1, ("KILL", "TERM"))

    def test_kills_while_the_step_sleeps_through_a_wait(self):
        self.crash_repeatedly("in-sleep", 1, 1, ("KILL", "TERM"))

    def test_kills_from_outside_at_random_moments(self):
        """A host's tool timeout: SIGKILL or SIGTERM at a moment the step does not choose."""
        root = Path(self.tmp.name) / "random"
        root.mkdir()
        write_project(root, SCENARIO, **SETTINGS)
        chance = random.Random(20261201)
        kills = 0
        for life in range(300):
            proc = subprocess.Popen([sys.executable, str(RUNNER), str(root), "none", "0"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                # Lives grow longer, so the campaign always ends; until then each dies somewhere new.
                proc.wait(timeout=chance.uniform(0.2, 0.6) + 0.02 * life)
            except subprocess.TimeoutExpired:
                proc.send_signal(chance.choice((signal.SIGKILL, signal.SIGTERM)))
                kills += 1
            _, stderr = proc.communicate(timeout=300)
            self.assertNotIn("Traceback", stderr)
            if proc.returncode == 0:
                break
        else:
            self.fail("the campaign never finished")
        self.assertGreater(kills, 3)
        self.assert_clean_end(root)


if __name__ == "__main__":
    unittest.main()
