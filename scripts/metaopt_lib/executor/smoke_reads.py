"""What the smoke test's run left behind about the program, read from its capture files: whether it
logged the objective metric (metrics.jsonl), which wandb.config keys it read (config-reads.jsonl),
so which swept parameters it never read and which seed key it reads."""
from __future__ import annotations

import json


def _lines(path):
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def metric_logged_in(run_dir, metric) -> bool:
    return any(isinstance(r.get("metrics"), dict) and metric in r["metrics"] for r in _lines(run_dir / "metrics.jsonl"))


def unread_keys(run_dir, swept):
    """Swept keys the program never read from wandb.config; None when that cannot be told."""
    if swept is None:
        return None
    reads = _lines(run_dir / "config-reads.jsonl")
    if any(r.get("all") is True for r in reads):
        return None
    read = {r.get("key") for r in reads}
    return [key for key in swept if key not in read]


def seed_read(run_dir, candidates) -> dict:
    """{"seed_parameter": the first candidate the program read} when candidates were asked for; null
    when it read none, or read the whole config at once (then which keys it uses cannot be told)."""
    if not candidates:
        return {}
    unread = unread_keys(run_dir, candidates)
    read = [key for key in candidates if unread is not None and key not in unread]
    return {"seed_parameter": read[0] if read else None}
