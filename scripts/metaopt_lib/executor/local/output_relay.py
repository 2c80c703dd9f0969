"""The relay between a trial's program and its output.log: the program's stdout and stderr reach the log
redacted (the program itself runs with its real environment and arguments).

The runner starts the relay as the trial's process (relay_argv) in a process group of its own, and the
relay starts the program in that same group, so the runner's watchdog, its kills and teardown's
marker search reach both, exactly as they reached the bare program before. The relay is not the
runner: when the runner dies the trial goes on writing its log, and the next runner finds it by the
sweep marker as before. The relay's stdout and stderr are output.log, which the runner opens; the
secrets come on its stdin (never in its argv or environment, which `ps` and /proc show); the program
gets /dev/null as stdin.

The relay ends when the program has ended and its output is drained (at most DRAIN_SECONDS more, for
a descendant still holding the pipe), and exits as the program did: the same code, or the same signal,
so the runner judges the trial exactly as before. SIGTERM, SIGINT and SIGHUP sent to the group reach
the program; the relay outlives them to write the program's last words, and SIGKILL ends both.

Usage (internal): python3 -I -S -c BOOT SCRIPTS_DIR -- PROGRAM [ARG...]; exit codes: the program's,
127 when it could not be started.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from ...contract.redaction import Redactor
from ..redacted_output import LineRedactor, write_all

SCRIPTS_DIR = Path(__file__).resolve().parents[3]
# -I -S: the relay needs nothing but the standard library and this package; none of the program's
# PYTHON* settings (its PYTHONPATH puts the metric capture first) is for the relay, and a file of the
# user's repository (its working directory), say json.py, must not stand in for a standard module.
BOOT = ("import sys; sys.path.insert(0, sys.argv.pop(1)); "
        "from metaopt_lib.executor.local.output_relay import main; sys.exit(main(sys.argv[1:]))")
DRAIN_SECONDS = 5.0
READ_BYTES = 65536
PASSED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
CANNOT_START = 127


def relay_argv(interpreter: str, argv: list) -> list:
    """The argv that runs `argv` with its output redacted into the relay's own stdout."""
    return [interpreter, "-I", "-S", "-c", BOOT, str(SCRIPTS_DIR), "--", *argv]


def send_secrets(process: subprocess.Popen, redactor: Redactor) -> None:
    """Hand the relay its secrets and close its stdin."""
    try:
        process.stdin.write(json.dumps(redactor.secrets).encode("utf-8"))
    except BrokenPipeError:  # the relay died at start; the runner sees its exit code
        pass
    finally:
        try:
            process.stdin.close()
        except BrokenPipeError:
            pass


def main(args) -> int:
    argv = args[1:]
    redactor = Redactor(json.loads(sys.stdin.buffer.read() or b"[]"))
    log = sys.stdout.fileno()
    lines = LineRedactor(redactor, lambda data: write_all(log, data))
    for sig in PASSED_SIGNALS:
        # A Python handler, not SIG_IGN: an ignored signal would stay ignored in the program after exec.
        signal.signal(sig, lambda *_: None)
    reader, writer = os.pipe()
    try:
        program = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=writer, stderr=writer)
    except (OSError, ValueError) as exc:
        lines.feed(f"could not start the trial's program: {exc}\n".encode("utf-8", "replace"))
        lines.close()
        return CANNOT_START
    finally:
        os.close(writer)
    _drain(reader, program, lines)
    lines.close()
    return _exit_like(program.wait())


def _drain(reader: int, program: subprocess.Popen, lines: LineRedactor) -> None:
    selector = selectors.DefaultSelector()
    selector.register(reader, selectors.EVENT_READ)
    deadline = None
    while True:
        if deadline is None and program.poll() is not None:
            deadline = time.monotonic() + DRAIN_SECONDS
        if deadline is not None and time.monotonic() >= deadline:
            return
        if not selector.select(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))):
            continue
        data = os.read(reader, READ_BYTES)
        if not data:
            return
        lines.feed(data)


def _exit_like(code: int) -> int:
    """The program's exit code, or its death by a signal repeated on the relay itself."""
    if code >= 0:
        return code
    signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
    return 128 - code  # a signal that does not end a process (the program was stopped, not killed)
