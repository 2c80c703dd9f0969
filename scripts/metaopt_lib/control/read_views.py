"""The read-only commands: `metaopt.py status` and `best`. They read the state without the writer
lock (state writes are atomic) and change nothing: a version 4 state is migrated in memory only."""
from __future__ import annotations

from ..report.best import best_document
from . import actions
from .driver import now_utc, read_state
from .state_store import CampaignDir
from .status_view import status_view


def status(project_root, now=None) -> dict:
    """The status view as of `now` (default: the clock)."""
    cdir = CampaignDir(project_root)
    state = read_state(cdir, write_migration=False)
    return status_view(cdir.view(state), cdir.journal_tail(5), _status_action(cdir, state), now or now_utc())


def best(project_root) -> dict:
    """The best-result view (`metaopt.py best`)."""
    cdir = CampaignDir(project_root)
    state = read_state(cdir, write_migration=False)
    campaign, _ = cdir.campaign()
    return cdir.redactor.document(best_document(cdir.root, state, campaign))


def _status_action(cdir, state):
    move = actions.next_move(cdir, state, None)
    if move["kind"] == "stop":
        return actions.stop_action(cdir, state)
    if move["kind"] == "dispatch_workers":
        return actions.dispatch_action(move["records"])
    return actions.step_action(state)
