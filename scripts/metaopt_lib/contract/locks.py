"""Advisory file locks (flock) the skill's processes share: the campaign's single-writer lock, the
lock an executor holds on the directive it is carrying out, and the executor's lock on one sweep.

A flock belongs to an open file description, so the kernel drops it when the process holding it
dies: a killed process never leaves a lock behind. The descriptors are not inherited by children.
"""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path


class Busy(Exception):
    """Another process holds the lock."""


class FileLock:
    """An exclusive flock on `path` (created when missing). `acquire(wait=False)` raises Busy when
    another process holds it; with wait=True it blocks until it is free. Also a with-block (waits)."""

    def __init__(self, path, create=True):
        self.path = Path(path)
        self._create = create
        self._fd = None

    def acquire(self, wait: bool = False) -> "FileLock":
        if self._create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._create:  # the skill's own lock file: never created through a link
            path, flags = self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
        else:  # a file a reader already checked (a directive), perhaps through a link inside the project
            path, flags = os.path.realpath(self.path), os.O_RDONLY
        fd = os.open(path, flags | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o644)  # a FIFO must not block
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise Busy(str(self.path)) from None
            raise
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire(wait=True)

    def __exit__(self, *exc):
        self.release()


def is_locked(path) -> bool:
    """Whether another process holds an exclusive flock on the existing file `path` right now."""
    try:
        probe = FileLock(path, create=False).acquire(wait=False)
    except Busy:
        return True
    except FileNotFoundError:
        return False
    probe.release()
    return False
