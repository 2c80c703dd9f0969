"""run_smoke_test: run one real point of the selected sweep for at most 60 seconds, before any spend,
the way a trial runs (trial_env.py): the point in WANDB_SWEEP_PARAM_PATH, W&B offline, the trial
interpreter first on PATH, the metric capture on. The command is the campaign's smoke_test_command
(with /bin/sh), or else the program itself through the sweep's command template.

The directive shows the command's secrets [REDACTED] (references/secrets.md): the command run is the
campaign file's own, once it is checked to be the one the directive shows; the output tails are
redacted by the campaign's rule.

The verdict (the control plane reads `passed`): exit code 0 with the objective metric logged, or
still running at the limit without having crashed. A non-zero exit, a death by signal or an exit 0
without the metric is a failed smoke test, not a failed directive; only a command that could not be
started at all makes an error Outcome. The result also names the swept parameters the program never
read from wandb.config.
"""
from __future__ import annotations

import errno
import os
import re
import selectors
import subprocess
import time
from collections import deque
from pathlib import Path

from ..contract.campaign_secrets import SecretUnavailable, read_campaign, real_value, redactor_for
from ..contract.conventions import one_line
from ..contract.paths import METAOPT_DIR_NAME
from ..contract.process_group import has_exited, kill_session, start_in_new_session
from ..contract.redaction import Redactor
from ..contract.trial_command import trial_argv
from .outcome import ExecContext, ExecError, Outcome
from .smoke_reads import metric_logged_in, seed_read, unread_keys
from .trial_env import run_environment, write_param_files

SMOKE_AREA = "smoke"
LINE_MAX_CHARS = 2000  # executor-result outputTail item maxLength
CUT_MARK = " [... line cut]"
# Text kept past the cut so that a secret starting before it is still recognised (and hidden) whole.
REDACT_LOOKAHEAD_CHARS = 512
GRACE_SECONDS = 2.0
DRAIN_SECONDS = 2.0
READ_BYTES = 65536
POLL_SECONDS = 0.05
# Terminal control sequences (colours, cursor moves, titles) that make a tail unreadable as text:
# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), and the other ESC sequences (ESC, optional
# intermediate bytes, a final byte: charset selection, cursor save, reverse index...).
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]")


class OutputTail:
    """The last `max_lines` lines of one output stream, in bounded memory.

    A line longer than the kept prefix is cut (the rest is counted, never stored), so one huge line
    without a newline costs no more than a short one. A lone carriage return starts the line over, as
    on a terminal: a progress bar keeps its last state instead of flooding the tail. Terminal escape
    sequences (colours) are removed."""

    def __init__(self, max_lines: int, keep_chars: int):
        self.lines: deque[tuple[str, bool]] = deque(maxlen=max_lines)
        self.keep_bytes = keep_chars * 4  # a UTF-8 character is at most 4 bytes
        self.keep_chars = keep_chars
        self.current = bytearray()
        self.cut = False
        self.pending_cr = False

    def feed(self, data: bytes) -> None:
        if self.pending_cr and data:
            self.pending_cr = False
            if data[:1] == b"\n":
                self._finish()
                data = data[1:]
            else:
                self._restart()
        position = 0
        while position < len(data):
            newline, carriage = data.find(b"\n", position), data.find(b"\r", position)
            ends = [i for i in (newline, carriage) if i != -1]
            if not ends:
                self._append(data[position:])
                return
            end = min(ends)
            self._append(data[position:end])
            if data[end:end + 1] == b"\n" or data[end:end + 2] == b"\r\n":
                self._finish()
                position = end + (2 if data[end:end + 1] == b"\r" else 1)
            elif end + 1 == len(data):
                self.pending_cr = True  # "\r\n" may be split across two reads
                return
            else:
                self._restart()
                position = end + 1

    def close(self) -> None:
        if self.current or self.cut or self.pending_cr:
            self._finish()
        self.pending_cr = False

    def rendered(self, redactor: Redactor) -> list[str]:
        """The kept lines, secrets redacted, each at most LINE_MAX_CHARS characters."""
        out = []
        for text, cut in self.lines:
            if cut or len(text) > LINE_MAX_CHARS:
                room = LINE_MAX_CHARS - len(CUT_MARK)
                out.append(redactor.text(text, limit=room)[:room] + CUT_MARK)
            else:
                # Replacing a short secret may lengthen the line; trimming after redaction is safe.
                out.append(redactor.text(text)[:LINE_MAX_CHARS])
        return out

    def _append(self, piece: bytes) -> None:
        room = self.keep_bytes - len(self.current)
        if len(piece) > room:
            self.cut = True
        self.current += piece[:max(0, room)]

    def _finish(self) -> None:
        text = ANSI_ESCAPE.sub("", self.current.decode("utf-8", errors="replace"))
        cut = self.cut or len(text) > self.keep_chars
        self.lines.append((text[:self.keep_chars], cut))
        self._restart()

    def _restart(self) -> None:
        self.current = bytearray()
        self.cut = False


def run_smoke_test(payload: dict, ctx: ExecContext, limit_seconds: float | None = None,
                   name: str = "smoke") -> Outcome:
    """Run the smoke test of `payload` in <project>/<working_dir> and judge it (`name`: the directive
    id, which names its files under .ml-metaopt/smoke/).

    `limit_seconds` replaces payload["timeout_seconds"] for tests only; the contract value stays 60."""
    limit = float(payload["timeout_seconds"] if limit_seconds is None else limit_seconds)
    root = Path(ctx.project_root).resolve()
    shown = repr(payload["working_dir"])[:120]
    try:
        cwd = (root / payload["working_dir"]).resolve()
    except (OSError, ValueError):  # e.g. an embedded NUL byte, a symlink loop
        cwd = None
    if cwd is not None and not cwd.is_relative_to(root):
        return _not_run("smoke-working-dir-outside-project", f"working_dir {shown} resolves outside the project "
                        "root; set project.repo to a directory inside the project")
    if cwd is None or not cwd.is_dir():
        return _not_run("smoke-working-dir-missing", f"working_dir {shown} is not a directory under the project "
                        "root; create it or fix project.repo")
    campaign = read_campaign(root)
    redactor = redactor_for(campaign, ctx.env)
    run_dir = root / METAOPT_DIR_NAME / SMOKE_AREA / name
    try:
        payload = dict(payload, command=real_value(payload.get("command"), campaign, ("project", "smoke_test_command")),
                       sweep_command=real_value(payload.get("sweep_command"), campaign, ("project", "command")))
    except SecretUnavailable as exc:
        return _not_run("smoke-command-changed", f"{exc}; the smoke test runs again with a new directive once "
                        "the campaign is resumed")
    try:
        env, argv = _smoke_run(payload, ctx, run_dir)
        process = start_in_new_session(argv, cwd, env, subprocess.PIPE, subprocess.PIPE)
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte in the command
        retryable = getattr(exc, "errno", None) in (errno.EAGAIN, errno.ENOMEM)
        return _not_run("smoke-cannot-start", redactor.text(f"could not start the smoke test: {exc}"), retryable)
    keep = LINE_MAX_CHARS + max([REDACT_LOOKAHEAD_CHARS] + [len(s) for s in redactor.secrets])
    stdout_tail = OutputTail(payload["max_output_lines"], keep)
    stderr_tail = OutputTail(payload["max_output_lines"], keep)
    timed_out, code, seconds = _watch(process, {process.stdout.fileno(): stdout_tail,
                                                process.stderr.fileno(): stderr_tail}, limit)
    metric_logged = metric_logged_in(run_dir, payload["metric"]) if payload.get("metric") else None
    failure = _failure(timed_out, code, metric_logged, payload.get("metric"))
    return Outcome({"passed": failure is None, "exit_code": None if timed_out else code,
                    "timed_out": timed_out, "duration_seconds": round(seconds, 3),
                    "stdout_tail": stdout_tail.rendered(redactor), "stderr_tail": stderr_tail.rendered(redactor),
                    "metric_logged": metric_logged, "unread_keys": unread_keys(run_dir, payload.get("swept")),
                    "failure": failure, **seed_read(run_dir, payload.get("seed_candidates"))})


def _smoke_run(payload, ctx, run_dir):
    """(environment, argv): the point's files written afresh under run_dir, and either the user's
    smoke command through /bin/sh or the program through the sweep's command template."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("metrics.jsonl", "config-reads.jsonl"):
        (run_dir / stale).unlink(missing_ok=True)
    params = payload.get("params") or {}
    write_param_files(run_dir, params)
    env = run_environment(ctx.env, run_dir, "smoke", "smoke-" + run_dir.name,
                          {"METAOPT_CONFIG_READS_FILE": str(run_dir / "config-reads.jsonl")})
    if not params:
        env.pop("WANDB_SWEEP_PARAM_PATH")
    if payload.get("command"):
        # The command is project.smoke_test_command from the user's own campaign file, never text from
        # an LLM worker, and users write it as a command line (`python train.py && echo ok`), so a shell
        # runs it; the "worker strings never reach a shell" rule is about worker output.
        return env, ["/bin/sh", "-c", payload["command"]]
    return env, trial_argv(payload.get("sweep_command"), payload["program"], params, env,
                           str(run_dir / "args.json"))


def _failure(timed_out, code, metric_logged, metric):
    if timed_out:
        return None  # still running at the limit without a crash: the program trains
    if code is None:
        return "the smoke test could not be stopped and left no exit code"
    if code < 0:
        return f"the smoke test was killed by signal {-code}"
    if code != 0:
        return f"the smoke test exited with code {code}"
    if metric_logged is False:
        return f"the smoke test exited 0 without logging the objective metric {metric!r} with wandb.log"
    return None


def _watch(process: subprocess.Popen, tails: dict, limit: float) -> tuple[bool, int | None, float]:
    """Read both streams until the command exits or the limit passes, then end whatever is left of its
    session (a smoke test leaves nothing running) and collect the output still in the pipes.

    Returns (timed out, exit code or None, seconds the command ran)."""
    selector = selectors.DefaultSelector()
    for fd in tails:
        selector.register(fd, selectors.EVENT_READ)
    started = time.monotonic()
    deadline = started + limit
    try:
        try:
            while not has_exited(process) and time.monotonic() < deadline:
                _pump(selector, tails, min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
            timed_out = not has_exited(process)
            ended = time.monotonic()
        finally:
            kill_session(process.pid, GRACE_SECONDS)
        # A descendant that escaped the session may still hold a pipe open: drain for a bounded time.
        drain_deadline = time.monotonic() + DRAIN_SECONDS
        while selector.get_map() and time.monotonic() < drain_deadline:
            _pump(selector, tails, POLL_SECONDS)
    finally:
        selector.close()
        process.stdout.close()
        process.stderr.close()
        code = _reap(process)
    for tail in tails.values():
        tail.close()
    return timed_out, code, ended - started


def _pump(selector: selectors.BaseSelector, tails: dict, timeout: float) -> None:
    if not selector.get_map():
        time.sleep(timeout)  # both streams closed early; only the process is left to watch
        return
    for key, _ in selector.select(timeout):
        data = os.read(key.fd, READ_BYTES)
        if data:
            tails[key.fd].feed(data)
        else:
            selector.unregister(key.fd)


def _reap(process: subprocess.Popen) -> int | None:
    try:
        return process.wait(timeout=GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        return None  # unkillable (e.g. stuck in the kernel); reported as no exit code


def _not_run(code: str, message: str, retryable: bool = False) -> Outcome:
    details = {"passed": False, "exit_code": None, "timed_out": False, "duration_seconds": 0,
               "stdout_tail": [], "stderr_tail": [], "metric_logged": None, "unread_keys": None,
               "failure": one_line(message)}
    return Outcome(details, ExecError(code, one_line(message), retryable))
