"""The AGENTS.md hook: a marked block that tells a new host session how to continue the campaign,
added at the start and removed at the end without touching anything else in the user's file.

Adding appends the block after the user's text, in the file's own line ending (LF or CRLF), after
whatever separator the file needs; the separator and whether the file existed are recorded in
.ml-metaopt/agents-hook.json before the file is written. Removing takes out exactly the block and
that separator, so the user's bytes come back as they were (a byte order mark, a missing final
newline, an empty file), and deletes a file the skill created. Both are idempotent.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..contract.atomic_io import write_bytes_atomic, write_json_atomic
from ..contract.bounds import max_bytes
from ..contract.issues import ContractError
from ..contract.loaders import load_document
from ..contract.regular_files import FileRefused, read_regular, resolved_inside

BEGIN = "<!-- BEGIN ml-metaoptimization: {marker} -->"
END = "<!-- END ml-metaoptimization: {marker} -->"
BOM = b"\xef\xbb\xbf"
RECORD = "agents-hook.json"


def add_hook(campaign_dir, marker: str, text: str) -> None:
    path = _agents_file(campaign_dir)
    current = _read(path) if path.exists() else None
    data = current or b""
    if _block(data, marker) is not None:
        return
    newline = b"\r\n" if b"\r\n" in data else b"\n"
    body = data[len(BOM):] if data.startswith(BOM) else data
    separator = b"" if not body else (newline if body.endswith(newline) else newline * 2)
    write_json_atomic(campaign_dir.dir / RECORD, {"marker": marker, "created": current is None,
                                                  "separator": separator.decode("ascii")})
    block = newline.join(line.encode("utf-8") for line in
                         [BEGIN.format(marker=marker), *text.strip().splitlines(), END.format(marker=marker)])
    write_bytes_atomic(path, data + separator + block + newline, _mode(path))


def remove_hook(campaign_dir, marker: str) -> None:
    path = _agents_file(campaign_dir)
    record = _record(campaign_dir, marker)
    data = _read(path) if path.exists() else b""
    span = _block(data, marker)
    if span is not None:
        start, end = span
        separator = record.get("separator", "").encode("ascii")
        if separator and data[:start].endswith(separator):
            start -= len(separator)
        data = data[:start] + data[end:]
        if record.get("created") and data in (b"", BOM):
            path.unlink()
        else:
            write_bytes_atomic(path, data, _mode(path))
    (campaign_dir.dir / RECORD).unlink(missing_ok=True)


def _agents_file(campaign_dir) -> Path:
    """AGENTS.md, or the file inside the project a link of that name points to (the link is kept)."""
    try:
        return resolved_inside(campaign_dir.root / "AGENTS.md", campaign_dir.root, "AGENTS.md")
    except FileRefused as exc:
        raise ContractError([exc.issue]) from None


def _read(path) -> bytes:
    try:
        return read_regular(path, "AGENTS.md", max_bytes("agents-md"))
    except FileRefused as exc:
        raise ContractError([exc.issue]) from None


def _block(data: bytes, marker: str):
    """(start, end) of the marked block with its final line ending, or None."""
    begin, end = (re.escape(m.format(marker=marker).encode("utf-8")) for m in (BEGIN, END))
    found = re.search(begin + rb".*?" + end + rb"(?:\r\n|\n)?", data, re.S)
    return found.span() if found else None


def _record(campaign_dir, marker: str) -> dict:
    record, _ = load_document(campaign_dir.dir / RECORD, RECORD, "json", max_bytes("small-text"), campaign_dir.root)
    if not isinstance(record, dict) or record.get("marker") != marker or \
            not isinstance(record.get("separator"), str) or record["separator"] not in ("", "\n", "\n\n", "\r\n",
                                                                                         "\r\n\r\n"):
        return {}
    return record


def _mode(path):
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None
