"""Shared test setup: import path, skill paths, fixture discovery, in-process CLI calls."""
from __future__ import annotations

import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from metaopt_lib.contract import validation  # noqa: E402
from metaopt_lib.contract.rules import RULES  # noqa: E402,F401

FIXTURES = ROOT / "fixtures"


def set_dotted(document, changes) -> dict:
    """Apply {"a.b.c": value} changes in place (None removes the key); returns the document."""
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        target = document
        for key in parents:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return document


def fixture_history(name):
    """The history records of a valid state fixture (fixtures/state/history/<name>.json), in memory."""
    from metaopt_lib.contract.history import ListHistory
    path = FIXTURES / "state" / "history" / f"{name}.json"
    return ListHistory(**(json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}))


def history_of(state, **records):
    """Give `state` a history of these records (kind -> list): its meta is set to commit them. Returns
    the history, in memory."""
    from metaopt_lib.contract import history
    from metaopt_lib.contract.history import ListHistory
    meta = history.empty_history_meta()
    for kind, items in records.items():
        meta[kind], _ = history.extended(meta[kind], items)
    state["history"] = meta
    return ListHistory(**records)


def applied_view(state, source, envelope, now):
    """(the state after the envelope with its history inline, that history in memory): what a step
    that applied it leaves, as the reports would read it."""
    from metaopt_lib.contract.history import KINDS, ListHistory
    from metaopt_lib.control import engine
    from metaopt_lib.control.history_files import full_view
    applied = engine.apply(state, envelope, now)
    after = ListHistory(**{kind: source.records(kind) + applied.records.get(kind, []) for kind in KINDS})
    return full_view(applied.state, after), after


def hot_state(view) -> dict:
    """The state of a view (applied_view's): without its history inline."""
    if "completed_iterations" not in view:
        return view
    state = {key: value for key, value in view.items() if key not in ("completed_iterations", "learnings")}
    ledger = view["spend_ledger"]
    state["spend_ledger"] = dict(ledger, entries=[e for e in ledger["entries"] if e["iteration"] >= view["iteration"]])
    return state


def write_view(root, view) -> None:
    """Write a state with its history inline (a campaign_view, edited) back as the driver keeps it: the
    hot state (validated) and its history files."""
    from metaopt_lib.contract import history
    from metaopt_lib.control.state_store import CampaignDir
    state = hot_state(view)
    closed = [e for e in view["spend_ledger"]["entries"] if e["iteration"] < view["iteration"]]
    state["spend_ledger"]["closed_usd"] = round(sum(e["usd"] for e in closed), 6)
    records = {"iterations": view["completed_iterations"], "learnings": view["learnings"], "ledger": closed}
    state["history"] = history.empty_history_meta()
    for kind, items in records.items():
        state["history"][kind], data = history.extended(state["history"][kind], items)
        path = Path(root) / history.file_path(kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    CampaignDir(root).write_state(state)


def campaign_view(root) -> dict:
    """The state of the campaign at `root` with its history inline (completed_iterations, learnings,
    every spend entry), as the reports read it."""
    from metaopt_lib.control.state_store import CampaignDir
    cdir = CampaignDir(root)
    return cdir.view(cdir.read_state(write_migration=False))


def fixture_campaign(name="full-local", **changes) -> dict:
    """A campaign fixture with every default applied, then the dotted changes."""
    from metaopt_lib.contract import campaign as campaign_lib
    path = FIXTURES / "campaign" / "valid" / f"{name}.yaml"
    campaign = campaign_lib.apply_defaults(validation.load_valid("campaign", path))
    return set_dotted(campaign, changes)


def fixture_kinds() -> list:
    return sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()) if FIXTURES.is_dir() else []


def fixture_cases(kind: str) -> dict:
    """cases.json of one kind: relative file name -> {description, rule?, path?, campaign?, task?, state?}."""
    return json.loads((FIXTURES / kind / "cases.json").read_text(encoding="utf-8"))


def listed_fixture_files(kind: str) -> list:
    base = FIXTURES / kind
    return sorted(p.relative_to(base).as_posix() for sub in ("valid", "invalid")
                  for p in (base / sub).glob("*") if p.is_file())


def context_for(case: dict) -> validation.Context:
    """Validation context named by a fixture case (campaign objective, answered task, current state)."""
    objective = task_ctx = state = None
    if case.get("campaign"):
        objective = validation.load_valid("campaign", ROOT / case["campaign"])["objective"]
    if case.get("task"):
        task_ctx = validation.context_from_task(validation.load_valid("worker-task", ROOT / case["task"]))
    if case.get("state"):
        state = validation.load_valid("state", ROOT / case["state"])
    return validation.Context(objective=(task_ctx.objective if task_ctx else None) or objective,
                              task_id=task_ctx.task_id if task_ctx else None,
                              proposal_ids=task_ctx.proposal_ids if task_ctx else None, state=state)


def run_cli(main, argv):
    """Run a script's main(argv, out) in-process; returns (exit code, stdout text, stderr text)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        try:
            code = main(argv, out=out)
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()
