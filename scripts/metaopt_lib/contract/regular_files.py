"""The file rules every reader and writer of a file from outside the process follows.

Only regular files are read, and a campaign's own files only inside its project: a symlink that
leaves the project, a FIFO (a worker can create one where its result belongs), a device (a link to
/dev/zero never ends), a socket or a directory is refused before it is opened, and the read stops
at the kind's size bound. The checks run on the resolved path and again on the open descriptor,
which is opened without following a link and without blocking, so a file swapped in between is
caught too. A symlink that stays inside the project is followed: it is a user's own arrangement.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from .issues import Issue

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_TYPE_NAMES = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


class FileRefused(Exception):
    """A path breaks the file rules; carries the Issue naming the file and the fix."""

    def __init__(self, issue: Issue):
        super().__init__(issue.problem)
        self.issue = issue


def resolved_inside(path, within, label) -> Path:
    """The path with every link resolved; refused when `within` is given and it leaves that directory."""
    real = Path(os.path.realpath(path))
    if within is not None:
        root = Path(os.path.realpath(within))
        if real != root and root not in real.parents:
            raise FileRefused(Issue(label, (), "file.outside_project", f"the path leads outside the project "
                                    f"(to {real})", f"a file inside {root}",
                                    "replace the link with the file itself, inside the project"))
    return real


def read_regular(path, label, max_bytes: int, within=None) -> bytes:
    """The bytes of a regular file of at most max_bytes; raises FileRefused otherwise (missing included)."""
    with _opened(path, label, within) as (fd, info):
        _check_size(info.st_size, label, max_bytes)
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        _check_size(len(data), label, max_bytes)  # a file that grew while it was read
        return data


def read_at(path, label, offset: int, size: int, within=None) -> bytes:
    """Up to `size` bytes of a regular file from `offset` (a file another process appends to); b""
    when it is missing. Raises FileRefused otherwise."""
    return _read_part(path, label, within, lambda _: offset, size)


def read_tail(path, label, max_bytes: int, within=None) -> bytes:
    """The last max_bytes of a regular file; b"" when it is missing. Raises FileRefused otherwise."""
    return _read_part(path, label, within, lambda info: max(0, info.st_size - max_bytes), max_bytes)


def _read_part(path, label, within, start_of, size) -> bytes:
    try:
        with _opened(path, label, within) as (fd, info):
            os.lseek(fd, start_of(info), os.SEEK_SET)
            return os.read(fd, size)
    except FileRefused as exc:
        if exc.issue.rule == "file.missing":
            return b""
        raise


@contextlib.contextmanager
def _opened(path, label, within):
    """(descriptor, fstat) of a regular file, checked before and after a non-blocking, no-follow open."""
    real = resolved_inside(path, within, label)
    try:
        _check_type(os.stat(real), label)
        fd = os.open(real, _OPEN_FLAGS)
    except FileNotFoundError:
        raise FileRefused(Issue(label, (), "file.missing", "file does not exist", "an existing file",
                                "check the path, or create the file")) from None
    except OSError as exc:
        raise FileRefused(_os_issue(label, exc)) from None
    try:
        info = os.fstat(fd)
        _check_type(info, label)
        yield fd, info
    except OSError as exc:
        raise FileRefused(_os_issue(label, exc)) from None
    finally:
        os.close(fd)


def check_regular_or_missing(path, label, within=None) -> None:
    """Raise FileRefused unless the path is missing or a regular file (inside `within`, if given)."""
    real = resolved_inside(path, within, label)
    try:
        _check_type(os.stat(real), label)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise FileRefused(_os_issue(label, exc)) from None


def open_append(path, label, within=None, truncate=False):
    """A binary file object appending to a regular file (created when missing), never blocking on a
    FIFO: for the journal and the logs child processes write to. A link is followed only as far as
    the rules allow (inside `within`). Raises FileRefused."""
    real = resolved_inside(path, within, label)
    check_regular_or_missing(real, label)
    flags = _APPEND_FLAGS | (os.O_TRUNC if truncate else 0)
    try:
        fd = os.open(real, flags, 0o666)
    except OSError as exc:
        raise FileRefused(_os_issue(label, exc)) from None
    try:
        _check_type(os.fstat(fd), label)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "ab")


def append_regular(path, label, data: bytes, within=None) -> None:
    """Append data to a regular file (created when missing) by the rules of open_append; fsynced."""
    with open_append(path, label, within) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def append_after(path, label, committed: int, data: bytes, within=None) -> None:
    """Append data to a regular file after its first `committed` bytes, cutting off whatever follows
    them (what a killed writer appended without committing it); fsynced. A file shorter than
    `committed` is refused (its committed part is gone), and nothing is written."""
    with open_append(path, label, within) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size < committed:
            raise FileRefused(Issue(label, (), "history.damaged", f"the file has {size} bytes, the state committed "
                                    f"{committed}", "the lines the campaign appended, unchanged",
                                    "restore .ml-metaopt/history/ from a backup of the campaign directory"))
        os.ftruncate(handle.fileno(), committed)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _check_type(info, label) -> None:
    if stat.S_ISREG(info.st_mode):
        return
    what = next((name for test, name in _TYPE_NAMES if test(info.st_mode)), "not a regular file")
    raise FileRefused(Issue(label, (), "file.not_regular", f"the path is {what}", "a regular file",
                            "remove it and put the file itself there" if what != "a directory"
                            else "pass a file path, or move the directory away"))


def _check_size(size, label, max_bytes) -> None:
    if size > max_bytes:
        raise FileRefused(Issue(label, (), "file.too_large", f"file is {size:,} bytes or more",
                                f"at most {max_bytes:,} bytes (references/contracts.md, Size bounds)",
                                "check that this is the right file; a generated file this large is a bug "
                                "in whatever wrote it"))


def _os_issue(label, exc: OSError) -> Issue:
    if exc.errno == errno.ELOOP:  # the path became a link between the checks and the open
        return Issue(label, (), "file.not_regular", "the path is a symbolic link", "a regular file",
                     "replace the link with the file itself")
    if exc.errno in (errno.ENOTDIR, errno.EISDIR):
        return Issue(label, (), "file.not_regular", f"the path is not a file ({exc.strerror})", "a regular file",
                     "check the path: a part of it is not a directory, or it is one")
    return Issue(label, (), "file.unreadable", f"cannot read file ({exc.strerror})", "a readable file",
                 "check the file's permissions")
