"""The campaign's history, out of the hot state: append-only JSON-lines files under
.ml-metaopt/history/ — iterations.jsonl (one record per completed iteration), learnings.jsonl and
ledger.jsonl (the spend entries of earlier iterations' sweeps).

state.json keeps, per file, what was committed: the line count, the byte length, the iteration of the
last record and a chained digest (each line's digest covers the one before). A reader takes only the
committed bytes, so lines a killed step appended after its last state write are never read (the next
append cuts them off), and a committed part that differs from the digest is damage, reported by file
and line. This module is the format; the files are read and written by control/state_store.py.
"""
from __future__ import annotations

import hashlib
import json

from .issues import ContractError, Issue
from .paths import METAOPT_DIR_NAME

HISTORY_DIR = f"{METAOPT_DIR_NAME}/history"
KINDS = ("iterations", "learnings", "ledger")
# state fields whose appends go to a history file (the handoffs' envelopes still say "append")
FIELD_KINDS = {"completed_iterations": "iterations", "learnings": "learnings"}
# the schema $defs (history.schema.json) every line of a file must match
LINE_KINDS = {"iterations": "history-iteration", "learnings": "history-learning", "ledger": "history-ledger"}
START_CHAIN = "sha256:" + "0" * 64


def empty_meta() -> dict:
    return {"count": 0, "bytes": 0, "chain": START_CHAIN, "last_iteration": None}


def empty_history_meta() -> dict:
    return {kind: empty_meta() for kind in KINDS}


def file_path(kind) -> str:
    return f"{HISTORY_DIR}/{kind}.jsonl"


def line_of(record) -> bytes:
    return (json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
            + "\n").encode("utf-8")


def chained(chain: str, line: bytes) -> str:
    return "sha256:" + hashlib.sha256(chain.encode("ascii") + line).hexdigest()


def extended(meta, records) -> tuple[dict, bytes]:
    """The file's meta after appending `records`, and the bytes to append."""
    data, chain = b"", meta["chain"]
    for record in records:
        line = line_of(record)
        chain = chained(chain, line)
        data += line
    last = records[-1]["iteration"] if records else meta["last_iteration"]
    return {"count": meta["count"] + len(records), "bytes": meta["bytes"] + len(data), "chain": chain,
            "last_iteration": last}, data


def close_spend_entries(ledger, iteration) -> list:
    """Take the spend entries of iterations before `iteration` out of `ledger` (its closed_usd grows by
    what they cost) and return them: the lines ledger.jsonl gets."""
    closed = [e for e in ledger["entries"] if e["iteration"] < iteration]
    ledger["entries"] = [e for e in ledger["entries"] if e["iteration"] >= iteration]
    ledger["closed_usd"] = round(ledger.get("closed_usd", 0) + sum(e["usd"] for e in closed), 6)
    return closed


def committed_lines(data: bytes, meta, label) -> list:
    """The committed lines (bytes) of a history file whose content is `data`; raises ContractError
    naming the file when they are not what the state committed. Hashing every line is cheap; parsing
    is left to record_of, for the lines a reader needs."""
    if len(data) < meta["bytes"]:
        raise _damaged(label, None, f"the file has {len(data)} bytes, the state committed {meta['bytes']}")
    lines = data[:meta["bytes"]].splitlines(keepends=True)
    if len(lines) != meta["count"]:
        raise _damaged(label, None, f"the committed part has {len(lines)} lines, the state committed {meta['count']}")
    chain = START_CHAIN
    for line in lines:
        chain = chained(chain, line)
    if chain != meta["chain"]:
        raise _damaged(label, None, "its content differs from what the state committed (the digests differ)")
    return lines


def record_of(line: bytes, label, number):
    """The record of a committed line (`number` from 1, for the error)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        raise _damaged(label, number, "the line is not JSON") from None
    if not isinstance(record, dict):
        raise _damaged(label, number, "the line is not a JSON object")
    return record


def _damaged(label, line, problem) -> ContractError:
    where = f"line {line}: " if line else ""
    return ContractError([Issue(label, (), "history.damaged", f"{where}{problem}",
                                "the lines the campaign appended, unchanged",
                                "restore .ml-metaopt/history/ from a backup of the campaign directory (the "
                                "handoff envelopes under .ml-metaopt/handoffs/ hold every appended record)")])


class ListHistory:
    """A history held in memory (tests, and a state migrated without being written)."""

    def __init__(self, **records):
        self._records = {kind: list(records.get(kind, ())) for kind in KINDS}

    def records(self, kind) -> list:
        return self._records[kind]

    def tail(self, kind, count) -> list:
        items = self._records[kind]
        return items[max(0, len(items) - count):] if count > 0 else []

    def at(self, kind, index):
        return self._records[kind][index]

    def count(self, kind) -> int:
        return len(self._records[kind])
