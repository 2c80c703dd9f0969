"""run_smoke_test with real processes, and the process-group helpers it (and the local backend) use."""
from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path
from unittest import mock

import support  # noqa: F401
from local_sweep_support import TRAINING, optuna_and_wandb
from metaopt_lib.contract import process_group, validation
from metaopt_lib.contract.process_group import (group_alive, has_exited, kill_group, kill_session, session_pids,
                                                start_in_new_session)
from metaopt_lib.contract.redaction import REDACTED
from metaopt_lib.executor import smoke
from metaopt_lib.executor.outcome import ExecContext
from metaopt_lib.executor.smoke import LINE_MAX_CHARS, OutputTail, run_smoke_test

PYTHON = shlex.quote(sys.executable)
LINUX_PROC = Path("/proc/self/stat").is_file()

# Writes its own pid and its children's pids to pids.txt; `mode` says what happens next.
FORKING_SCRIPT = textwrap.dedent("""
    import os, signal, subprocess, sys, time
    mode = sys.argv[1]
    def ignore_term():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stay = subprocess.Popen(["sleep", "300"])
    moved = subprocess.Popen(["sleep", "300"], preexec_fn=lambda: os.setpgid(0, 0))  # own group, same session
    stubborn = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], preexec_fn=ignore_term)
    with open("pids.tmp", "w") as f:
        f.write(" ".join(str(p) for p in (os.getpid(), stay.pid, moved.pid, stubborn.pid)))
    os.replace("pids.tmp", "pids.txt")
    print("children started", flush=True)
    if mode == "hang":
        time.sleep(300)
""")


def wait_until(condition, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def pid_gone(pid: int) -> bool:
    """No such process, or only a zombie (an orphan's reaper may be slow or absent in a container)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return True
    return stat.rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")


class SmokeTestCase(unittest.TestCase):
    def setUp(self):
        temp = tempfile.TemporaryDirectory()
        self.addCleanup(temp.cleanup)
        self.root = Path(temp.name)
        self.repo = self.root / "repo"
        self.repo.mkdir()
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def smoke(self, command, limit=20.0, lines=20, working_dir="repo", env=None):
        ctx = ExecContext(project_root=self.root, env=self.env if env is None else env)
        payload = {"command": command, "working_dir": working_dir, "timeout_seconds": 60, "max_output_lines": lines}
        outcome = run_smoke_test(payload, ctx, limit_seconds=limit)
        self.assert_valid_result(outcome)
        return outcome

    def assert_valid_result(self, outcome):
        document = {"schema_version": 1, "directive_id": "smoke-1-1-1", "type": "run_smoke_test",
                    "status": "ok" if outcome.ok else "failed", "completed_at": "2026-11-22T00:00:00Z",
                    "error": None if outcome.ok else outcome.error.as_dict(), "details": outcome.details}
        self.assertEqual(validation.validate_document("executor-result", document, "label"), [])

    def script(self, name, text):
        (self.repo / name).write_text(text)
        return f"{PYTHON} {name}"

    def pids(self):
        return [int(p) for p in (self.repo / "pids.txt").read_text().split()]


class VerdictTest(SmokeTestCase):
    def test_exit_zero_passes(self):
        outcome = self.smoke("echo ok; echo note >&2")
        self.assertIsNone(outcome.error)
        details = outcome.details
        self.assertEqual((details["passed"], details["exit_code"], details["timed_out"]), (True, 0, False))
        self.assertEqual((details["stdout_tail"], details["stderr_tail"]), (["ok"], ["note"]))
        self.assertEqual(details["duration_seconds"], round(details["duration_seconds"], 3))

    def test_a_non_zero_exit_fails_the_smoke_test_but_is_not_an_error(self):
        outcome = self.smoke("echo boom >&2; exit 3")
        self.assertIsNone(outcome.error)
        self.assertEqual((outcome.details["passed"], outcome.details["exit_code"]), (False, 3))
        self.assertEqual(outcome.details["stderr_tail"], ["boom"])

    def test_a_python_exception_fails_with_its_traceback_in_stderr(self):
        outcome = self.smoke(self.script("train.py", "raise ValueError('bad shape')\n"))
        self.assertEqual((outcome.details["passed"], outcome.details["exit_code"]), (False, 1))
        self.assertIn("ValueError: bad shape", outcome.details["stderr_tail"][-1])

    def test_death_by_a_signal_is_minus_the_signal(self):
        for command in ("kill -KILL $$",
                        f"exec {PYTHON} -c 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'"):
            with self.subTest(command=command):
                outcome = self.smoke(command)
                self.assertEqual(outcome.details["exit_code"], -signal.SIGKILL)
                self.assertFalse(outcome.details["passed"])
                self.assertFalse(outcome.details["timed_out"])

    def test_stdin_is_empty_so_a_reader_does_not_hang_until_the_limit(self):
        started = time.monotonic()
        outcome = self.smoke("cat", limit=15)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual((outcome.details["passed"], outcome.details["exit_code"]), (True, 0))

    def test_shell_syntax_works_because_the_command_comes_from_the_users_campaign(self):
        outcome = self.smoke("true && echo one | tr a-z A-Z")
        self.assertEqual(outcome.details["stdout_tail"], ["ONE"])


class TimeLimitTest(SmokeTestCase):
    def setUp(self):
        super().setUp()
        # The child that ignores SIGTERM is killed after the grace either way; half a second of it is
        # enough to see SIGTERM, the wait and SIGKILL in turn (the default 2 s only made each test wait).
        patcher = mock.patch.object(smoke, "GRACE_SECONDS", 0.5)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_still_running_at_the_limit_passes_and_the_whole_session_is_killed(self):
        started = time.monotonic()
        outcome = self.smoke(self.script("train.py", FORKING_SCRIPT) + " hang", limit=2)
        details = outcome.details
        self.assertEqual((details["passed"], details["timed_out"], details["exit_code"]), (True, True, None))
        self.assertGreaterEqual(details["duration_seconds"], 2)
        self.assertIn("children started", details["stdout_tail"])
        self.assertLess(time.monotonic() - started, 15)
        for pid in self.pids():  # leader, child, child in its own group, child ignoring SIGTERM
            wait_until(lambda: pid_gone(pid), what=f"pid {pid} to die")

    def test_children_outliving_the_parent_are_killed_and_the_result_comes_promptly(self):
        started = time.monotonic()
        outcome = self.smoke(self.script("train.py", FORKING_SCRIPT) + " exit", limit=60)
        self.assertLess(time.monotonic() - started, 15)  # not after the limit, though the children hold the pipes
        details = outcome.details
        self.assertEqual((details["passed"], details["timed_out"], details["exit_code"]), (True, False, 0))
        self.assertEqual(details["stdout_tail"], ["children started"])
        for pid in self.pids():
            self.assertTrue(pid_gone(pid), f"pid {pid} outlived the smoke test")


class OutputTest(SmokeTestCase):
    def test_only_the_last_lines_of_each_stream_are_kept(self):
        outcome = self.smoke(self.script("loud.py", textwrap.dedent("""
            import sys
            for i in range(5000):
                print(f"out {i}")
                print(f"err {i}", file=sys.stderr)
        """)), lines=3)
        self.assertEqual(outcome.details["stdout_tail"], ["out 4997", "out 4998", "out 4999"])
        self.assertEqual(outcome.details["stderr_tail"], ["err 4997", "err 4998", "err 4999"])

    def test_long_lines_are_cut_to_the_schema_limit(self):
        outcome = self.smoke(self.script("wide.py", textwrap.dedent("""
            import sys
            print("a" * 5000)
            sys.stdout.write("b" * 1_000_000)  # one huge line, no newline at all
        """)))
        first, second = outcome.details["stdout_tail"]
        for line, char in ((first, "a"), (second, "b")):
            self.assertLessEqual(len(line), LINE_MAX_CHARS)
            self.assertTrue(line.startswith(char * 1000))
            self.assertTrue(line.endswith(smoke.CUT_MARK))

    def test_a_huge_line_is_never_held_in_memory(self):
        tail = OutputTail(max_lines=5, keep_chars=2500)
        for _ in range(100):
            tail.feed(b"z" * 65536)
            self.assertLessEqual(len(tail.current), 2500 * 4)
        tail.close()
        self.assertEqual(len(tail.lines), 1)

    def test_a_carriage_return_restarts_the_line_like_a_progress_bar(self):
        tail = OutputTail(max_lines=5, keep_chars=100)
        for chunk in (b"10%\r50%\r", b"100%\r", b"\ndone\r\n", b"last"):  # "\r\n" split across reads
            tail.feed(chunk)
        tail.close()
        self.assertEqual([text for text, _ in tail.lines], ["100%", "done", "last"])

    def test_terminal_colours_and_control_sequences_are_stripped(self):
        outcome = self.smoke("printf '\\033[1;31mERROR\\033[0m: \\033]0;title\\007bad \\033(Bvalue\\033[K\\n'; "
                             "printf '\\033[32mok\\033[0m\\n' >&2")
        self.assertEqual(outcome.details["stdout_tail"], ["ERROR: bad value"])
        self.assertEqual(outcome.details["stderr_tail"], ["ok"])

    def test_invalid_utf8_is_replaced_not_fatal(self):
        outcome = self.smoke("printf 'ok \\377\\376 end\\n'; printf '\\300' >&2")
        self.assertEqual(outcome.details["stdout_tail"], ["ok \ufffd\ufffd end"])
        self.assertEqual(outcome.details["stderr_tail"], ["\ufffd"])


class SecretsTest(SmokeTestCase):
    def test_a_key_from_the_environment_is_redacted(self):
        key = "not-hex-but-secret-" + "q" * 21
        env = dict(self.env, WANDB_API_KEY=key)
        outcome = self.smoke('echo "key is $WANDB_API_KEY"; echo "$WANDB_API_KEY" >&2', env=env)
        self.assertEqual(outcome.details["stdout_tail"], [f"key is {REDACTED}"])
        self.assertEqual(outcome.details["stderr_tail"], [REDACTED])
        self.assertNotIn(key, json.dumps(outcome.details))

    def test_a_wandb_shaped_key_is_redacted_without_the_environment(self):
        key = "0123456789abcdef" * 2 + "01234567"
        outcome = self.smoke(f"echo login {key}")
        self.assertEqual(outcome.details["stdout_tail"], [f"login {REDACTED}"])

    def test_a_secret_crossing_the_line_cut_leaves_no_fragment(self):
        key = "zq-fragment-secret-" + "w" * 30
        env = dict(self.env, HF_TOKEN=key)
        outcome = self.smoke(f"printf '%s' \"$(head -c {LINE_MAX_CHARS - 25} /dev/zero | tr '\\0' x)\"; "
                             "echo \"$HF_TOKEN and more\"", env=env)
        line = outcome.details["stdout_tail"][0]
        self.assertLessEqual(len(line), LINE_MAX_CHARS)
        self.assertNotIn("zq-frag", line)


class EnvironmentTest(SmokeTestCase):
    def test_wandb_runs_offline_with_its_files_under_metaopt(self):
        env = dict(self.env, WANDB_MODE="online")
        outcome = self.smoke('echo "$WANDB_MODE"; echo "$WANDB_DIR"; echo "$PYTHONUNBUFFERED"', env=env)
        mode, wandb_dir, unbuffered = outcome.details["stdout_tail"]
        self.assertEqual((mode, unbuffered), ("offline", "1"))
        self.assertTrue(Path(wandb_dir).is_dir())
        self.assertTrue(Path(wandb_dir).resolve().is_relative_to((self.root / ".ml-metaopt" / "smoke").resolve()))

    def test_the_command_runs_in_the_working_dir(self):
        (self.repo / "sub").mkdir()
        outcome = self.smoke("pwd", working_dir="repo/sub")
        self.assertEqual(Path(outcome.details["stdout_tail"][0]).resolve(), (self.repo / "sub").resolve())


@unittest.skipUnless(optuna_and_wandb(), "needs wandb")
class RealPointTest(SmokeTestCase):
    """The smoke test runs one point of the sweep the way a trial runs, with the real wandb (offline)."""

    POINT = {"lr": 0.01, "batch_size": 32, "momentum": 0.9}

    def real_smoke(self, command=None, params=None, env=None, program="train_no_defaults.py", **more):
        shutil.copy(TRAINING / program, self.repo / program)
        payload = {"command": command, "working_dir": "repo", "timeout_seconds": 60, "max_output_lines": 20,
                   "program": program, "sweep_command": None, "params": self.POINT if params is None else params,
                   "metric": "val_loss", "swept": ["lr", "batch_size", "momentum"], **more}
        ctx = ExecContext(project_root=self.root, env=dict(os.environ, **(env or {})))
        outcome = run_smoke_test(payload, ctx, limit_seconds=60, name="smoke-1-1-1")
        self.assert_valid_result(outcome)
        return outcome

    def test_a_program_reading_wandb_config_without_defaults_passes_with_the_point(self):
        outcome = self.real_smoke()
        self.assertTrue(outcome.details["passed"], outcome.details)
        self.assertTrue(outcome.details["metric_logged"])
        self.assertIsNone(outcome.details["failure"])
        self.assertEqual(outcome.details["unread_keys"], ["momentum"], "the program never reads momentum")
        self.assertNotIn("seed_parameter", outcome.details, "no seed candidates asked, no answer")

    def test_the_seed_key_the_program_reads_is_found_among_the_candidates(self):
        candidates = ["random_seed", "seed", "rng_seed"]
        seeded = self.real_smoke(program="train_seeded.py", params={"lr": 0.01, "batch_size": 64},
                                 seed_candidates=candidates)
        self.assertEqual(seeded.details["seed_parameter"], "seed")
        unseeded = self.real_smoke(seed_candidates=candidates)
        self.assertIsNone(unseeded.details["seed_parameter"], "train_no_defaults.py reads no seed")
        # With no candidates asked there is no answer: the test above checks it on the same program.

    def test_a_program_reading_its_whole_config_has_no_seed_that_can_be_told(self):
        (self.repo / "whole.py").write_text(
            "import wandb\nrun = wandb.init(config={'seed': 1})\nprint(dict(run.config))\n"
            "wandb.log({'val_loss': 1.0})\nrun.finish()\n")
        outcome = self.real_smoke(command="python3 whole.py", seed_candidates=["seed"])
        self.assertTrue(outcome.details["passed"], outcome.details)
        self.assertIsNone(outcome.details["seed_parameter"])

    def test_without_a_point_such_a_program_fails_with_its_error(self):
        outcome = self.real_smoke(params={})
        self.assertFalse(outcome.details["passed"])
        self.assertIn("exited with code", outcome.details["failure"])

    def test_a_smoke_command_gets_the_trial_interpreter_first_on_path(self):
        # PATH without the interpreter that has wandb: `python3` must still be that interpreter.
        outcome = self.real_smoke("python3 -c 'import sys; print(sys.executable)' && python3 train_no_defaults.py",
                                  env={"PATH": "/usr/bin:/bin"})
        self.assertTrue(outcome.details["passed"], outcome.details)
        self.assertEqual(Path(outcome.details["stdout_tail"][0]).parent, Path(sys.executable).parent)

    def test_an_exit_0_without_the_objective_metric_fails_and_says_so(self):
        outcome = self.real_smoke("python3 -c 'import wandb'")
        self.assertFalse(outcome.details["passed"])
        self.assertEqual(outcome.details["exit_code"], 0)
        self.assertIs(outcome.details["metric_logged"], False)
        self.assertIn("without logging the objective metric 'val_loss'", outcome.details["failure"])


class WorkingDirTest(SmokeTestCase):
    def assert_not_run(self, outcome, code):
        self.assertEqual(outcome.error.code, code)
        self.assertFalse(outcome.error.retryable)
        self.assertEqual((outcome.details["passed"], outcome.details["exit_code"]), (False, None))

    def test_a_working_dir_outside_the_project_is_refused_and_nothing_runs(self):
        outside = tempfile.TemporaryDirectory()
        self.addCleanup(outside.cleanup)
        (self.repo / "link").symlink_to(outside.name)
        for working_dir in ("..", "repo/../../x", outside.name, "repo/link"):
            with self.subTest(working_dir=working_dir):
                outcome = self.smoke(f"touch {shlex.quote(outside.name)}/ran", working_dir=working_dir)
                self.assert_not_run(outcome, "smoke-working-dir-outside-project")
                self.assertFalse(Path(outside.name, "ran").exists())

    def test_a_missing_working_dir_is_refused(self):
        (self.root / "file.txt").write_text("not a directory")
        for working_dir in ("nope", "file.txt"):
            with self.subTest(working_dir=working_dir):
                self.assert_not_run(self.smoke("true", working_dir=working_dir), "smoke-working-dir-missing")

    def test_a_nul_byte_is_a_clear_error_not_a_traceback(self):
        self.assert_not_run(self.smoke("true", working_dir="re\0po"), "smoke-working-dir-missing")
        self.assert_not_run(self.smoke("echo a\0b"), "smoke-cannot-start")

    def test_a_command_that_cannot_start_is_an_error_outcome(self):
        failure = OSError(errno.EAGAIN, "Resource temporarily unavailable")
        with mock.patch.object(smoke, "start_in_new_session", side_effect=failure):
            outcome = self.smoke("true")
        self.assertEqual((outcome.error.code, outcome.error.retryable), ("smoke-cannot-start", True))


class ProcessGroupTest(unittest.TestCase):
    def start(self, code, *args):
        temp = tempfile.TemporaryDirectory()
        self.addCleanup(temp.cleanup)
        process = start_in_new_session([sys.executable, "-c", textwrap.dedent(code), *args], temp.name,
                                       os.environ, subprocess.DEVNULL, subprocess.DEVNULL)
        self.addCleanup(lambda: (kill_session(process.pid, 0), process.wait()))
        return process, Path(temp.name)

    def test_the_process_leads_a_new_session_and_group(self):
        process, _ = self.start("import time; time.sleep(30)")
        self.assertEqual((os.getsid(process.pid), os.getpgid(process.pid)), (process.pid, process.pid))
        self.assertTrue(group_alive(process.pid))

    def test_kill_group_escalates_to_sigkill_when_sigterm_is_ignored(self):
        process, cwd = self.start("""
            import pathlib, signal, time
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            pathlib.Path("ready").touch()
            time.sleep(60)
        """)
        wait_until(lambda: (cwd / "ready").exists(), what="the SIGTERM handler")
        started = time.monotonic()
        self.assertTrue(kill_group(process.pid, 0.5))
        self.assertGreaterEqual(time.monotonic() - started, 0.5)
        self.assertEqual(process.wait(timeout=5), -signal.SIGKILL)

    def test_kill_group_stops_at_sigterm_when_that_is_enough(self):
        process, _ = self.start("import time; time.sleep(60)")
        self.assertTrue(kill_group(process.pid, 5))
        self.assertEqual(process.wait(timeout=5), -signal.SIGTERM)

    def test_kill_group_of_a_group_that_is_gone_does_not_raise(self):
        process, _ = self.start("pass")
        process.wait(timeout=10)
        self.assertFalse(group_alive(process.pid))
        self.assertTrue(kill_group(process.pid, 0.1))

    @unittest.skipUnless(LINUX_PROC, "session members and zombies are read from Linux /proc")
    def test_session_pids_finds_a_child_that_moved_to_its_own_group(self):
        process, cwd = self.start("""
            import os, pathlib, subprocess, time
            child = subprocess.Popen(["sleep", "60"], preexec_fn=lambda: os.setpgid(0, 0))
            pathlib.Path("child").write_text(str(child.pid))
            time.sleep(60)
        """)
        wait_until(lambda: (cwd / "child").exists() and (cwd / "child").read_text(), what="the child")
        child = int((cwd / "child").read_text())
        self.assertNotEqual(os.getpgid(child), process.pid)
        self.assertEqual(session_pids(process.pid), sorted([process.pid, child]))
        self.assertTrue(kill_session(process.pid, 2))
        wait_until(lambda: pid_gone(child), what="the moved child to die")
        self.assertEqual(session_pids(process.pid), [])

    @unittest.skipUnless(LINUX_PROC, "zombies are told apart through Linux /proc")
    def test_an_exited_leader_stays_unreaped_and_its_zombie_does_not_count_as_alive(self):
        process, _ = self.start("raise SystemExit(7)")
        wait_until(lambda: has_exited(process), what="the exit")
        self.assertEqual(Path(f"/proc/{process.pid}/stat").read_bytes().rsplit(b")", 1)[-1].split()[0], b"Z")
        self.assertFalse(group_alive(process.pid))
        self.assertTrue(kill_session(process.pid, 0.1))
        self.assertEqual(process.wait(timeout=5), 7)  # the exit code is still there for Popen

    def test_without_a_process_listing_session_pids_is_empty(self):
        with mock.patch.object(process_group, "PROC", Path("/nonexistent-proc")), \
                mock.patch.object(process_group, "psutil_module", lambda: None):
            self.assertEqual(session_pids(os.getsid(0)), [])


if __name__ == "__main__":
    unittest.main()
