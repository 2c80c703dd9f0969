"""Finding every process of a local sweep, including children that left their process group."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

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
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] in ("Z", "X")


def sweep_pids(files: SweepFiles) -> list:
    """Live processes carrying the sweep's environment marker: the runner, every trial and their
    descendants, wherever they moved (Linux /proc only). A process that scrubs its environment
    escapes this."""
    return marked_pids(SWEEP_MARKER, str(files.root))


def marked_pids(marker: str, value: str) -> list:
    """Live processes other than this one whose environment holds marker=value."""
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
