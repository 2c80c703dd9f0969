"""Output on its way to a log, redacted line by line: a trial's output (local/output_relay.py) and the local
runner's own stdout and stderr.

A line is written once it ends (at a newline or a carriage return, so a progress bar still moves). A
line that grows past PENDING_MAX_BYTES without ending is written up to the last LOOKAHEAD_CHARS, where a
secret that started may still be running on (a secret found there is hidden whole); what follows it is
kept for the next write. Bytes that are not UTF-8 pass unchanged.
"""
from __future__ import annotations

import io
import os
import sys

from ..contract.redaction import Redactor, redact_prefix

PENDING_MAX_BYTES = 64 * 1024
LOOKAHEAD_CHARS = 512
_LINE_ENDS = (b"\n", b"\r")


class LineRedactor:
    """Feeds bytes through the redaction to `write(bytes)`, whole lines at a time."""

    def __init__(self, redactor: Redactor, write):
        self.redactor, self.write = redactor, write
        self.pending = b""
        self.lookahead = max([LOOKAHEAD_CHARS] + [len(s) for s in redactor.secrets])

    def feed(self, data: bytes) -> None:
        self.pending += data
        end = max(self.pending.rfind(mark) for mark in _LINE_ENDS)
        if end >= 0:
            self._emit(self.pending[:end + 1])
            self.pending = self.pending[end + 1:]
        if len(self.pending) > PENDING_MAX_BYTES:
            text = self.pending.decode("utf-8", "surrogateescape")
            shown, used = redact_prefix(text, self.redactor.secrets, len(text) - self.lookahead)
            self.write(shown.encode("utf-8", "surrogateescape"))
            self.pending = text[used:].encode("utf-8", "surrogateescape")

    def close(self) -> None:
        """Write what is left (the last line need not end)."""
        if self.pending:
            self._emit(self.pending)
            self.pending = b""

    def _emit(self, data: bytes) -> None:
        self.write(self.redactor.text(data.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape"))


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class RedactingStream(io.TextIOBase):
    """A text stream (for sys.stdout / sys.stderr) that writes to file descriptor `fd` through the
    redaction. flush() writes the unfinished line too: output is complete whenever the process exits."""

    def __init__(self, redactor: Redactor, fd: int):
        super().__init__()
        self._fd = fd
        self._lines = LineRedactor(redactor, lambda data: write_all(fd, data))

    @property
    def encoding(self):
        return "utf-8"

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        self._lines.feed(text.encode("utf-8", "surrogateescape"))
        return len(text)

    def flush(self) -> None:
        self._lines.close()


def redact_standard_streams(redactor: Redactor) -> None:
    """From now on, what this process prints (print, logging handlers made later, warnings, tracebacks)
    reaches its stdout and stderr redacted."""
    sys.stdout.flush()
    sys.stderr.flush()
    sys.stdout = RedactingStream(redactor, sys.stdout.fileno())
    sys.stderr = RedactingStream(redactor, sys.stderr.fileno())
