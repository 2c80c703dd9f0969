"""Starting a command in its own session and ending everything it left behind.

The smoke test, the local sweep runner and teardown share these. A process started here leads a new
session and process group whose ids equal its pid, so `kill_session(process.pid, ...)` reaches the
command, its children, and children that moved to another process group of the same session.

Limits: a descendant that calls setsid() itself starts a new session and escapes both the group and
the session; nothing here can find it short of tracking every fork. Exact answers (zombies told apart
from live processes, session members found) need a way to list processes: psutil when it is installed
(optional; any platform it supports, macOS included), else Linux /proc; with neither the answers fall
back to os.killpg(pgid, 0), which counts a zombie as alive until its parent reaps it, and no session
member outside the group is found.
"""
from __future__ import annotations

import functools
import os
import signal
import subprocess
import time
from pathlib import Path
from collections.abc import Callable, Iterator, Mapping, Sequence

PROC = Path("/proc")
POLL_SECONDS = 0.02
# What is lost when processes cannot be listed (no psutil, no /proc: macOS without psutil).
NO_PROCESS_LISTING = ("neither psutil nor Linux /proc is available, so processes cannot be listed: a process that "
                      "left its process group (a trial's child in a group or session of its own) is not found, "
                      "and teardown cannot kill it; install psutil (python3 -m pip install psutil)")
# After SIGKILL the kernel needs a moment to tear processes down; this bounds how long we watch.
KILL_SETTLE_SECONDS = 2.0


def start_in_new_session(argv: Sequence[str], cwd, env: Mapping[str, str], stdout, stderr) -> subprocess.Popen:
    """Popen in a new session (so also a new process group), stdin from /dev/null, no inherited fds."""
    return subprocess.Popen(list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, close_fds=True, start_new_session=True)


def has_exited(process: subprocess.Popen) -> bool:
    """True once `process` has exited.

    Where /proc can tell zombies apart, the process is left unreaped (a zombie) until the caller's
    Popen.wait(): while the zombie exists its pid, and with it the ids of the group and session it
    leads, cannot be reused by an unrelated process we might then signal."""
    if process.returncode is not None:
        return True
    if process_listing() and hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            pass  # already reaped elsewhere; let Popen record it
    return process.poll() is not None


def group_alive(pgid: int) -> bool:
    """Whether process group `pgid` still has a live member.

    Where processes can be listed (psutil or /proc), zombies do not count: a group holding only exited,
    unreaped processes is gone (nothing in it can run again). Otherwise this is os.killpg(pgid, 0): such
    a group still counts as alive until its zombies are reaped; a group we may not signal (EPERM) counts
    as alive."""
    if process_listing():
        return any(pgrp == pgid for _, pgrp, _ in _live_processes())
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def session_pids(sid: int) -> list[int]:
    """Pids of the live (non-zombie) processes in session `sid`, sorted.

    Finds children that left the command's process group but stayed in its session, through psutil or
    Linux /proc; returns [] where neither is available (see NO_PROCESS_LISTING)."""
    if not process_listing():
        return []
    return sorted(pid for pid, _, session in _live_processes() if session == sid)


def kill_group(pgid: int, grace_seconds: float) -> bool:
    """SIGTERM process group `pgid`, wait up to `grace_seconds` for it to empty, then SIGKILL.

    True when the group is gone. Never raises for a group that is already gone."""
    return _terminate(lambda sig: _signal_group(pgid, sig), lambda: group_alive(pgid), grace_seconds)


def kill_session(sid: int, grace_seconds: float) -> bool:
    """Like kill_group, for the group `sid` (which a session leader leads) and every other process of
    session `sid`. Never signals the calling process. Where processes cannot be listed this is
    kill_group(sid, ...)."""
    if not process_listing():
        return kill_group(sid, grace_seconds)

    def send(sig: int) -> None:
        _signal_group(sid, sig)
        for pid in session_pids(sid):
            if pid != os.getpid():
                _signal_pid(pid, sig)

    return _terminate(send, lambda: group_alive(sid) or any(p != os.getpid() for p in session_pids(sid)),
                      grace_seconds)


def _terminate(send: Callable[[int], None], alive: Callable[[], bool], grace_seconds: float) -> bool:
    if not alive():
        return True
    send(signal.SIGTERM)
    if _wait_until_gone(alive, grace_seconds, lambda: None):
        return True
    send(signal.SIGKILL)
    # Re-send on every look: a member may have forked between the scan and the signal.
    return _wait_until_gone(alive, KILL_SETTLE_SECONDS, lambda: send(signal.SIGKILL))


def _wait_until_gone(alive: Callable[[], bool], seconds: float, between: Callable[[], None]) -> bool:
    deadline = time.monotonic() + max(0.0, seconds)
    while alive():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)
        between()
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass  # gone already, or holds only processes that are not ours


def _signal_pid(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@functools.lru_cache(maxsize=1)
def psutil_module():
    """The psutil module when it is installed, else None: the skill works without it."""
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def process_listing() -> str | None:
    """How processes are listed here: "psutil" (preferred, when installed), "/proc" (Linux), or None."""
    if psutil_module() is not None:
        return "psutil"
    return "/proc" if _proc_available() else None


def _proc_available() -> bool:
    return (PROC / "self" / "stat").is_file()


def _live_processes() -> Iterator[tuple[int, int, int]]:
    """(pid, process group, session) of every non-zombie process psutil or /proc shows."""
    psutil = psutil_module()
    if psutil is not None:
        yield from _live_processes_psutil(psutil)
    elif _proc_available():
        yield from _live_processes_proc()


def _live_processes_psutil(psutil) -> Iterator[tuple[int, int, int]]:
    gone = (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    for proc in psutil.process_iter(["status"]):
        try:
            if proc.info["status"] in gone:
                continue
            yield proc.pid, os.getpgid(proc.pid), os.getsid(proc.pid)
        except (OSError, psutil.Error):
            continue  # exited while we looked, or not ours to inspect


def _live_processes_proc() -> Iterator[tuple[int, int, int]]:
    try:
        entries = list(os.scandir(PROC))
    except OSError:
        return
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            with open(os.path.join(entry.path, "stat"), "rb") as handle:
                stat = handle.read()
        except OSError:
            continue  # exited while we looked
        # The command name sits in parentheses and may itself contain spaces or ')'.
        fields = stat.rsplit(b")", 1)[-1].split()
        if len(fields) < 4 or fields[0] in (b"Z", b"X"):
            continue
        yield int(entry.name), int(fields[2]), int(fields[3])
