"""Finding every process of a local sweep, including children that left their process group.

Processes are found by the environment marker every process of the sweep inherits, read through psutil
when it is installed (any platform it supports, macOS included), else through Linux /proc. With neither
(macOS without psutil) nothing can be listed: sweep_pids finds no process, and teardown can stop only
the runner and the process groups it knows (contract/process_group.NO_PROCESS_LISTING says what is lost).
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from ...contract import process_group
from .sweep import SweepFiles

SWEEP_MARKER = "METAOPT_SWEEP_DIR"
TRIAL_MARKER = "METAOPT_TRIAL_DIR"
PROC = Path("/proc")


def _environ_has(pid: int, needle: bytes) -> bool:
    try:
        return needle in (PROC / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _is_zombie(pid: int) -> bool:
    """True when `pid` has exited (a zombie, or gone)."""
    psutil = process_group.psutil_module()
    if psutil is not None:
        try:
            return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
        except psutil.NoSuchProcess:
            return True
        except psutil.Error:
            return False  # there, but not ours to inspect
    if PROC.is_dir():
        try:
            stat = (PROC / str(pid) / "stat").read_text()
        except OSError:
            return True
        return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    try:  # no way to tell a zombie apart: only "gone" counts as exited
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def sweep_pids(files: SweepFiles) -> list:
    """Live processes carrying the sweep's environment marker: the runner, every trial and their
    descendants, wherever they moved (psutil, or Linux /proc). A process that scrubs its environment
    escapes this; with neither psutil nor /proc the list is empty."""
    return marked_pids(SWEEP_MARKER, str(files.root))


def marked_pids(marker: str, value: str) -> list:
    """Live processes other than this one whose environment holds marker=value."""
    psutil = process_group.psutil_module()
    if psutil is not None:
        return _marked_pids_psutil(psutil, marker, value)
    if not PROC.is_dir():
        return []
    needle = f"{marker}={value}".encode()
    own = os.getpid()
    pids = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and int(entry.name) != own and _environ_has(int(entry.name), needle):
            if not _is_zombie(int(entry.name)):
                pids.append(int(entry.name))
    return sorted(pids)


def _marked_pids_psutil(psutil, marker: str, value: str) -> list:
    own, gone = os.getpid(), (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    pids = []
    for proc in psutil.process_iter(["status"]):
        if proc.pid == own or proc.info["status"] in gone:
            continue
        try:
            if proc.environ().get(marker) == value:
                pids.append(proc.pid)
        except (OSError, psutil.Error):
            continue  # exited while we looked, or another user's process
    return sorted(pids)


def kill_pids(pids, settle_seconds: float = 2.0) -> None:
    """SIGKILL each pid and wait (bounded) until none of them runs any more."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + settle_seconds
    while any(not _is_zombie(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.01)
