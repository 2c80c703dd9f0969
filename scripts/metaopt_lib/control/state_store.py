"""The campaign directory on disk: single-writer lock, validated state, journal, spec files, archive.

The trusted fast path: the state is validated when the driver writes it, and every journal line
records the digest of the state as this process last wrote or validated it; a state.json whose bytes
have the digest of the journal's last line is read without validating it again (anything else, a
hand edit included, is validated in full). The campaign file is validated once per content
(campaign_file.py).

Layout under <project>/.ml-metaopt/: state.json, journal.jsonl, lock, tasks/ directives/ results/
(iteration-scoped), archive/ (consumed records' files), handoffs/ (every envelope, never overwritten).
Everything written here shows secrets as [REDACTED] (references/secrets.md): an envelope is redacted
once, before it is applied (driver.apply, handoff_cli), so state.json, its spec files and the handoff
copies are written as given; reports and journal lines, built here from other sources, are redacted
as they are written.
"""
from __future__ import annotations

import errno
import functools
import json
import os
from pathlib import Path

from ..contract import validation
from ..contract.atomic_io import write_json_atomic, write_text_atomic
from ..contract.bounds import max_bytes
from ..contract.campaign import sha256_bytes, sha256_of
from ..contract.campaign_secrets import project_redactor, redactor_for
from ..contract.history import ListHistory
from ..contract.issues import ContractError, Issue
from ..contract.locks import FileLock
from ..contract.paths import METAOPT_DIR_NAME
from ..contract.regular_files import (FileRefused, append_regular, check_regular_or_missing, read_regular,
                                      read_tail, resolved_inside)
from . import history_files
from .campaign_file import CampaignFile

JOURNAL_TAIL_BYTES = 64 * 1024


class CampaignDir:
    def __init__(self, project_root):
        self.root = Path(project_root).resolve()
        self.dir = self.root / METAOPT_DIR_NAME
        self.state_path = self.dir / "state.json"
        self.journal_path = self.dir / "journal.jsonl"
        self._lock = FileLock(self.dir / "lock")
        self._state_sha = None  # digest of state.json as this process last wrote or validated it
        self._campaign = CampaignFile(self)
        self._memory_history = None  # a version 4 state's history, migrated in memory only (status, best)

    # -- lock -------------------------------------------------------------------------------------
    def lock(self):
        """Take the single-writer lock without waiting; raises Busy when another writer holds it."""
        self._lock.acquire(wait=False)

    def unlock(self):
        self._lock.release()

    def __enter__(self):
        self.lock()
        return self

    def __exit__(self, *exc):
        self.unlock()

    # -- state ------------------------------------------------------------------------------------
    def has_state(self) -> bool:
        return os.path.lexists(self.state_path)  # a dangling link is a state that cannot be read, not none

    def read_state(self, write_migration=True) -> dict:
        """The validated state; raises ContractError naming every problem. A version 4 state is migrated
        (its history moved to history/): written so when `write_migration` (the caller holds the lock),
        else only in memory."""
        label = self.rel(self.state_path)
        try:
            data = read_regular(self.state_path, label, max_bytes("state"), within=self.root)
        except FileRefused as exc:
            raise ContractError([exc.issue]) from None
        digest = sha256_bytes(data)
        if self._vouched(digest):
            try:
                document = json.loads(data)
                self._state_sha = digest
                return document
            except (ValueError, RecursionError):
                pass  # validated below, which names the problem
        document, issues = validation.parse_and_validate("state", data, label)
        if isinstance(document, dict) and document.get("schema_version") == 4:
            state, records, appends = history_files.migrated(document, label)
            if write_migration:
                history_files.write_migration(self, state, appends)
                self.append_journal({"seq": state["step_seq"], "at": state["updated_at"], "event": "migrated",
                                     "summary": f"state.json migrated from version 4: {len(records['iterations'])} "
                                                f"iteration(s), {len(records['learnings'])} learning(s) and "
                                                f"{len(records['ledger'])} spend entr(ies) moved to history/"})
            else:
                self._memory_history = ListHistory(**records)
            return state
        if issues:
            raise ContractError(issues)
        self._state_sha = digest
        return document

    def _vouched(self, digest) -> bool:
        """Whether the journal's last line vouches for state.json with these bytes (the driver wrote or
        validated exactly them): then they are not validated again."""
        tail = self.journal_tail(1)
        return bool(tail) and tail[-1].get("state_sha256") == digest

    def history(self, state):
        """Where the handoffs, reports and status read the campaign's history from."""
        return self._memory_history or history_files.FileHistory(self, state)

    def view(self, state) -> dict:
        """The state with its history inline, for the reports and the status view."""
        return history_files.full_view(state, self.history(state))

    def load(self, kind, path, context=None):
        """(document or None, issues) of a file of the campaign, read by the file rules (inside the project)."""
        return validation.load_and_validate(kind, path, label=self.rel(path), context=context, within=self.root)

    def load_valid(self, kind, path, context=None):
        """The document of a file of the campaign if it is valid; raises ContractError otherwise."""
        return validation.load_valid(kind, path, label=self.rel(path), context=context, within=self.root)

    def check_layout(self) -> None:
        """Refuse a .ml-metaopt that is not a directory of this project, before anything is written in it."""
        if os.path.lexists(self.dir):
            try:
                real = resolved_inside(self.dir, self.root, METAOPT_DIR_NAME)
            except FileRefused as exc:
                raise ContractError([exc.issue]) from None
            if not real.is_dir():
                raise ContractError([Issue(METAOPT_DIR_NAME, (), "file.not_directory", "the path is not a directory",
                                           "the campaign's directory", f"move {METAOPT_DIR_NAME} aside")])

    def write_state(self, state, validated=False, appends=None, committed=None) -> None:
        """Write the state atomically; validates it first unless the caller just did (engine output).
        `appends` (history kind -> bytes) go to the history files first, after what `committed` (the
        history meta of the state before) recorded, so the state written commits them."""
        if not validated:
            issues = validation.validate_document("state", state, self.rel(self.state_path))
            if issues:
                raise ContractError(issues)
        if appends:
            history_files.append_history(self, committed, appends)
        text = json.dumps(state, indent=2, sort_keys=True, allow_nan=False) + "\n"
        write_text_atomic(self.state_path, text)
        self._state_sha = sha256_bytes(text)
        self._campaign.save()

    @functools.cached_property
    def redactor(self):
        """The campaign's redaction: the secrets of its file and of this process's environment."""
        campaign, issues = self.campaign()
        return project_redactor(self.root, os.environ) if campaign is None else redactor_for(campaign, os.environ)

    def campaign(self):
        """(the campaign with its defaults, or None; its issues): see campaign_file.py."""
        return self._campaign.read(self._lock.held)

    # -- journal ----------------------------------------------------------------------------------
    def append_journal(self, entry) -> None:
        """Append one line; it vouches for state.json as this process last wrote or validated it."""
        if self._state_sha is not None:
            entry = dict(entry, state_sha256=self._state_sha)
        line = json.dumps(self.redactor.document(entry), sort_keys=True, allow_nan=False) + "\n"
        try:
            append_regular(self.journal_path, self.rel(self.journal_path), line.encode("utf-8"), within=self.root)
        except FileRefused as exc:
            raise ContractError([exc.issue]) from None

    def check_journal_writable(self) -> None:
        """Fail before any state write when the journal could not take the entry afterwards."""
        path = self.journal_path
        try:
            check_regular_or_missing(path, self.rel(path), within=self.root)
        except FileRefused as exc:
            raise ContractError([exc.issue]) from None
        if not os.access(path if path.exists() else self.dir, os.W_OK):
            raise OSError(errno.EACCES, "not a writable file", str(path))

    def journal_tail(self, count) -> list:
        """The last `count` usable journal entries (reads only the end of the file); a line that is not
        an object with a text summary (a torn write, a hand edit) is skipped: the journal is an audit
        trail, never an input to a decision."""
        try:
            data = read_tail(self.journal_path, self.rel(self.journal_path), JOURNAL_TAIL_BYTES, within=self.root)
        except FileRefused:  # unusable: the status view shows no recent steps
            return []
        lines = data.decode("utf-8", "replace").splitlines()
        entries = []
        for line in lines[-count:]:
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError):  # bad JSON, a 4,300-digit number, absurd nesting
                continue
            if isinstance(entry, dict) and isinstance(entry.get("summary", ""), str):
                entries.append(entry)
        return entries

    # -- files ------------------------------------------------------------------------------------
    def path(self, rel) -> Path:
        """Absolute path of a project-relative path under .ml-metaopt/, its directories resolved; the last
        part is left as it is, so a link there is judged (and moved, or replaced) as the link itself by
        the file rules. Refuses a path whose directories lead outside .ml-metaopt/."""
        lexical = Path(os.path.normpath(self.root / rel))
        candidate = lexical.parent.resolve() / lexical.name
        real_dir = Path(os.path.realpath(self.dir))
        if real_dir != candidate and real_dir not in candidate.parents:
            raise ContractError([Issue(str(rel), (), "path.outside_metaopt", "the path leads outside .ml-metaopt/",
                                       "a path under .ml-metaopt/", "replace any link on the way with a real "
                                       "directory or file of the project")])
        return candidate

    def rel(self, path) -> str:
        """The project-relative name of a path, as the user sees it (links are not followed)."""
        path = Path(os.path.abspath(path))
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def write_spec(self, rel, document) -> None:
        """A directive or task of an applied (so already redacted) envelope."""
        write_json_atomic(self.path(rel), document)

    def write_text(self, rel, text) -> None:
        write_text_atomic(self.path(rel), self.redactor.text(text))

    def write_handoff(self, envelope) -> str:
        """Keep every envelope: named by the sequence it applies at, agent and phase (on one line: an
        envelope carries its tasks' contexts, and a record kept for restores need not be indented)."""
        name = (f"{envelope['computed_against_seq'] + 1:06d}-{envelope['agent']}-{envelope['phase']}"
                ".handoff-envelope.json")
        rel = f"{METAOPT_DIR_NAME}/handoffs/{name}"
        write_json_atomic(self.path(rel), envelope, compact=True)
        return rel

    def write_preview(self, envelope, now) -> str:
        """Keep an envelope computed but not applied, under a name no other run reuses."""
        stamp = now.replace(":", "").replace("-", "")
        base = (f"{METAOPT_DIR_NAME}/handoffs/previews/{envelope['computed_against_seq'] + 1:06d}-"
                f"{envelope['agent']}-{envelope['phase']}-{stamp}")
        rel, count = f"{base}.handoff-envelope.json", 1
        while os.path.lexists(self.path(rel)):
            count += 1
            rel = f"{base}-{count}.handoff-envelope.json"
        write_json_atomic(self.path(rel), envelope, compact=True)
        return rel

    def set_aside(self, rel) -> None:
        """Move a rejected result out of the way (kept under archive/rejected/) so it is never read again."""
        source = self.path(rel)
        target = self.path(rel.replace(f"{METAOPT_DIR_NAME}/", f"{METAOPT_DIR_NAME}/archive/rejected/", 1))
        target.parent.mkdir(parents=True, exist_ok=True)
        stem, count = target.with_suffix(""), 1
        while os.path.lexists(target):
            count += 1
            target = stem.with_name(f"{stem.name}-{count}.json")
        os.replace(source, target)

    def archive(self, record) -> None:
        """Move a closed record's spec and result files to archive/ so they are never read again."""
        for key in ("spec_path", "result_path"):
            source = self.path(record[key])
            if os.path.lexists(source):
                target = self.path(record[key].replace(f"{METAOPT_DIR_NAME}/", f"{METAOPT_DIR_NAME}/archive/", 1))
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)


def state_digest(state) -> str:
    return sha256_of(state)
