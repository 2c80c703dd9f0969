"""Crash-safe file writes: temp file in the same directory, fsync, os.replace, directory fsync.

Files get the permissions the user's umask gives a new file (0644 under the usual 022), not the
0600 of a temporary file: reports and exports are meant to be read by the user's other tools.
"""
from __future__ import annotations

import json
import os
from pathlib import Path


def _current_umask() -> int:
    try:  # Linux tells it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_current_umask()


def write_text_atomic(path, text: str) -> None:
    """Replace path with text so a reader sees the old file or the new one, never a mix."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path, data: bytes, mode: int | None = None) -> None:
    """Replace path with exactly these bytes (mode: the file's permissions; default from the umask)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _temporary(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE if mode is None else mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def write_json_atomic(path, document, compact=False) -> None:
    """Write one JSON document atomically (NaN and Infinity are refused before anything is written).
    Indented for a person to read, or `compact` on one line for a record kept for the program (json's
    C encoder writes it, several times faster than the indenting Python one on a large document)."""
    text = json.dumps(document, sort_keys=True, allow_nan=False, **({} if compact else {"indent": 2}))
    write_text_atomic(path, text + "\n")


def _temporary(target: Path):
    """(descriptor, path) of a new, private temporary file beside target (what tempfile.mkstemp does,
    without importing tempfile and the random module it loads on every step)."""
    while True:
        tmp = target.parent / f".{target.name}.{os.urandom(6).hex()}.tmp"
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600), tmp
        except FileExistsError:
            continue


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
