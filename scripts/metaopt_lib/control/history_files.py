"""The campaign's history files on disk (.ml-metaopt/history/, format in contract/history.py): read
lazily, only the part the state committed; appended before the state that commits the append; and a
version 4 state, which kept its history inline, migrated into them."""
from __future__ import annotations

import copy

from ..contract import history, validation
from ..contract.bounds import max_bytes
from ..contract.issues import ContractError, Issue
from ..contract.regular_files import FileRefused, append_after, read_regular

STATE_VERSION = 5


class FileHistory:
    """The history of the campaign in `cdir` as `state` commits it. A file is read (and its committed
    part checked against the state's digest) at most once, and only when something asks for it; only
    the lines asked for are parsed (a step that needs no history reads none)."""

    def __init__(self, cdir, state):
        self.cdir, self.meta, self._lines, self._parsed, self._labels = cdir, state["history"], {}, {}, {}

    def count(self, kind) -> int:
        return self.meta[kind]["count"]

    def records(self, kind) -> list:
        return [self.at(kind, index) for index in range(self.count(kind))]

    def tail(self, kind, count) -> list:
        total = self.count(kind)
        return [self.at(kind, index) for index in range(max(0, total - count), total)] if count > 0 else []

    def at(self, kind, index):
        key = (kind, index)
        if key not in self._parsed:
            self._parsed[key] = history.record_of(self._committed(kind)[index], self._label(kind), index + 1)
        return self._parsed[key]

    def _label(self, kind):
        if kind not in self._labels:
            self._labels[kind] = self.cdir.rel(self.cdir.path(history.file_path(kind)))
        return self._labels[kind]

    def _committed(self, kind):
        if kind not in self._lines:
            meta = self.meta[kind]
            data = b""
            if meta["count"]:
                path = self.cdir.path(history.file_path(kind))
                try:
                    data = read_regular(path, self._label(kind), max_bytes("history-file"), within=self.cdir.root)
                except FileRefused as exc:
                    raise ContractError([exc.issue]) from None
            self._lines[kind] = history.committed_lines(data, meta, self._label(kind))
        return self._lines[kind]


def append_history(cdir, committed, appends) -> None:
    """Append each file's new lines after what `committed` (the history meta of the state before)
    recorded, before the state that commits them is written."""
    for kind, data in appends.items():
        path = cdir.path(history.file_path(kind))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            append_after(path, cdir.rel(path), committed[kind]["bytes"], data, within=cdir.root)
        except FileRefused as exc:
            raise ContractError([exc.issue]) from None


def full_view(state, source) -> dict:
    """The state with its history inline (the shape the reports and the status view read): every
    completed iteration, every learning, and every spend entry, earlier iterations' first."""
    ledger = dict(state["spend_ledger"], entries=source.records("ledger") + state["spend_ledger"]["entries"])
    return dict(state, completed_iterations=source.records("iterations"), learnings=source.records("learnings"),
                spend_ledger=ledger)


# ---- version 4 -------------------------------------------------------------------------------

def migrated(raw, label):
    """(version 5 state, {kind: records}, {kind: the bytes its file gets}) of a version 4 state; raises
    ContractError, naming what is wrong, when it cannot be turned into a valid one."""
    try:
        state = copy.deepcopy(raw)
        records = {"iterations": state.pop("completed_iterations"), "learnings": state.pop("learnings"),
                   "ledger": history.close_spend_entries(state["spend_ledger"], state["iteration"])}
        state["schema_version"] = STATE_VERSION
        state["history"], appends = history.empty_history_meta(), {}
        for kind, items in records.items():
            state["history"][kind], appends[kind] = history.extended(state["history"][kind], items)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        what = f"it has no {exc.args[0]!r}" if isinstance(exc, KeyError) else "a part of it has another shape"
        raise ContractError([Issue(label, (), "state.migration_failed", f"a version 4 state without the shape "
                                   f"of one: {what}", "a version 4 state.json",
                                   "restore state.json from a backup")]) from None
    issues = validation.validate_document("state", state, label)
    for kind, items in records.items():
        for index, record in enumerate(items):
            issues += validation.validate_document(history.LINE_KINDS[kind], record, f"{label} ({kind} {index + 1})")
    if issues:
        raise ContractError([Issue(label, (), "state.migration_failed", f"as version 5 it would be invalid: "
                                   f"{issues[0].message}", "a valid version 4 state.json",
                                   "restore state.json from a backup")])
    return state, records, appends


def write_migration(cdir, state, appends) -> None:
    """Write the history files of a migrated state (each from empty), then the state."""
    append_history(cdir, history.empty_history_meta(), {kind: data for kind, data in appends.items() if data})
    cdir.write_state(state, validated=True)
