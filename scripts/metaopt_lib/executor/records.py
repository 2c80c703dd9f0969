"""The executor's own files under .ml-metaopt/sweeps/<identity>/: read back by later executor runs
(and by the detached local runner), so every read is validated by its schema like any other input."""
from __future__ import annotations

import os
from pathlib import Path

from ..contract.atomic_io import write_json_atomic
from ..contract.bounds import max_bytes
from ..contract.issues import ContractError, Issue, sort_issues
from ..contract.loaders import load_document
from ..contract.locks import FileLock
from ..contract.schemas import schema_issues


class RecordError(Exception):
    """An executor record is unreadable or breaks its schema. `issues` name file, path, expected, fix."""

    def __init__(self, issues):
        self.issues = sort_issues(issues)
        super().__init__(self.issues[0].message if self.issues else "invalid record")


def read_record(path, schema_name: str, fix: str | None = None, within=None) -> dict | None:
    """The validated record at `path`, or None when the file does not exist.

    Raises RecordError when it exists but cannot be used; `fix` (if given) is appended to every issue
    so the user learns how to recover (e.g. which teardown to run). `within`: the project the record
    belongs to (the file rules of contract/regular_files.py)."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    document, issues = load_document(path, str(path), "json", max_bytes("executor-record"), within)
    if not issues:  # a document that is JSON null is no record either: the schema says so
        issues = schema_issues(schema_name, document, str(path))
    if issues:
        if fix:
            issues = [Issue(i.file, i.parts, i.rule, i.problem, i.expected, f"{i.fix}; {fix}" if i.fix else fix)
                      for i in issues]
        raise RecordError(issues)
    return document


def write_record(path, schema_name: str, document: dict) -> None:
    """Validate then write atomically; a record that breaks its own schema is a bug, never written."""
    issues = schema_issues(schema_name, document, str(path))
    if issues:
        raise ContractError(issues)
    write_json_atomic(path, document)


# An exclusive lock for a with-block: serializes executor runs on one sweep, so a poll and a teardown
# never interleave their reads and writes.
SweepLock = FileLock
