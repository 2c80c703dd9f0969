"""`metaopt.py reset`: archive the whole campaign and let the next step start afresh from the campaign
file, without anyone touching .ml-metaopt/ by hand.

Everything the campaign wrote under .ml-metaopt/ moves to .ml-metaopt/archive/<timestamp>/ (the
preflight readiness artifact stays: it is about the project, and its hashes still decide whether it
fits the campaign file), and the campaign's AGENTS.md block is removed. A campaign whose sweep may
still run or bill is never reset: that would orphan it.
"""
from __future__ import annotations

import os
import re

from ..contract.locks import is_locked
from ..contract.paths import PREFLIGHT_FILE
from .agents_hook import remove_hook
from .driver import StepError, read_state

KEPT = {"lock", "archive", PREFLIGHT_FILE.rsplit("/", 1)[-1]}
RESET_ARCHIVE = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


def reset(cdir, now) -> dict:
    """Archive the campaign; returns the reset document. Raises StepError (nothing moved) when a sweep
    of the campaign may still be running."""
    state = read_state(cdir) if cdir.has_state() else None
    _refuse_while_live(cdir, state)
    if state is not None:
        remove_hook(cdir, state["campaign"]["name"])
    target = _new_archive(cdir, now)
    moved = 0
    for entry in sorted((cdir.dir / "archive").iterdir()):
        if entry != target and not RESET_ARCHIVE.match(entry.name):  # the old campaign's consumed records
            (target / "archive").mkdir(exist_ok=True)
            os.replace(entry, target / "archive" / entry.name)
            moved += 1
    for entry in sorted(cdir.dir.iterdir()):
        if entry.name not in KEPT:
            os.replace(entry, target / entry.name)
            moved += 1
    rel = cdir.rel(target)
    return {"schema_version": 2, "reset": {"archive": rel, "entries": moved},
            "summary": f"The campaign was archived to {rel}; the next step starts it afresh from the campaign file.",
            "action": {"kind": "step"}}


def _refuse_while_live(cdir, state):
    sweeps = cdir.dir / "sweeps"
    runners = [d.name for d in sorted(sweeps.iterdir()) if is_locked(d / "runner.lock")] if sweeps.is_dir() else []
    sweep = state["current_sweep"] if state else None
    live = sweep is not None and sweep["resources_live"]
    cleanup = state is not None and any(r["name"] == "teardown" for r in state["pending"])
    if runners or live or cleanup:
        what = f"a local runner of {runners[0]} is alive" if runners else \
            f"the sweep {sweep['sweep_identity']} may still run or bill" if sweep else "a teardown is pending"
        raise StepError("reset-refused", f"not reset: {what}",
                        "Let the campaign stop first (lower compute.max_budget_usd to stop its sweep; the next "
                        "step tears it down), then run metaopt.py reset again.")


def _new_archive(cdir, now):
    stamp = now.replace("-", "").replace(":", "")
    target, count = cdir.dir / "archive" / stamp, 1
    while target.exists():
        count += 1
        target = cdir.dir / "archive" / f"{stamp}-{count}"
    target.mkdir(parents=True)
    return target
