"""Running a worker CLI: found on PATH, started in a session of its own with the prompt on stdin,
stopped with everything it started when its time is up or the run is interrupted, its output kept
(secrets redacted) in .ml-metaopt/logs/workers/<task_id>.log."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

from ..contract.atomic_io import write_text_atomic
from ..contract.process_group import kill_session
from ..contract.campaign_secrets import project_redactor

KILL_GRACE_SECONDS = 5.0
MAX_KEPT_CHARS = 4_000_000  # of each stream, for parsing and the log


class CliMissing(Exception):
    """A worker CLI is not on PATH; the message says how to install it."""


@dataclass(frozen=True)
class CliRun:
    exit_code: int | None   # None when it was stopped at its time limit
    timed_out: bool
    stdout: str
    stderr: str
    seconds: float


def find_executable(name: str, install: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise CliMissing(f"the {name} CLI is not on PATH: {install}")
    return path


class LiveProcesses:
    """Every worker CLI still running, so an interrupted run can stop them all."""

    def __init__(self):
        self._lock = threading.Lock()
        self._processes = set()

    def add(self, process):
        with self._lock:
            self._processes.add(process)

    def discard(self, process):
        with self._lock:
            self._processes.discard(process)

    def stop_all(self) -> None:
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            kill_session(process.pid, KILL_GRACE_SECONDS)


LIVE = LiveProcesses()


def run_cli(argv, cwd, stdin_text: str, timeout_seconds: float, log_path, env=None) -> CliRun:
    """Run one CLI to its end or its time limit; its session is killed when the limit passes."""
    env = dict(os.environ if env is None else env)
    started = time.monotonic()
    process = subprocess.Popen(list(argv), cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
                               start_new_session=True, close_fds=True)
    LIVE.add(process)
    timed_out = False
    try:
        try:
            stdout, stderr = process.communicate(stdin_text, timeout=max(0.0, timeout_seconds))
        except subprocess.TimeoutExpired:
            timed_out = True
            stdout, stderr = _stop(process)
    finally:
        LIVE.discard(process)
    run = CliRun(None if timed_out else process.returncode, timed_out, stdout[-MAX_KEPT_CHARS:],
                 stderr[-MAX_KEPT_CHARS:], round(time.monotonic() - started, 3))
    _write_log(log_path, argv, run, project_redactor(cwd, env))
    return run


def _stop(process) -> tuple:
    """Kill the CLI's session and collect what it printed; a process that escaped its session and
    still holds the pipes is not waited for."""
    kill_session(process.pid, KILL_GRACE_SECONDS)
    try:
        return process.communicate(timeout=KILL_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        for stream in (process.stdout, process.stderr):
            stream.close()
        process.wait()
        return "", ""


def _write_log(log_path, argv, run: CliRun, redactor) -> None:
    status = "timed out" if run.timed_out else f"exit {run.exit_code}"
    text = (f"$ {' '.join(argv[:1] + [a if len(a) < 200 else a[:200] + '...' for a in argv[1:]])}\n"
            f"# {status} after {run.seconds:.1f} s\n# stdout\n{run.stdout}\n# stderr\n{run.stderr}\n")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(log_path, redactor.text(text))
