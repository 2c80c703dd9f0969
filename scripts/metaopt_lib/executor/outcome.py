"""What every executor handler returns, and the context it runs in."""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from ..contract.paths import METAOPT_DIR_NAME

SWEEPS_AREA = "sweeps"


@dataclass(frozen=True)
class ExecError:
    """Why a directive was not carried out. `code` is a slug such as spend-listing-failed."""

    code: str
    message: str
    retryable: bool

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "retryable": self.retryable}


@dataclass(frozen=True)
class Outcome:
    """A handler's answer: the executor-result `details` for its directive type, and an error or None.

    `details` must satisfy the executor-result schema's $defs for the directive type even when
    `error` is set (the result carries both)."""

    details: dict
    error: ExecError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def timestamp(moment: datetime.datetime) -> str:
    """RFC 3339 UTC with seconds precision, as every contract timestamp is written."""
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_timestamp(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class ExecContext:
    """Where and when a directive runs. Tests inject `clock` and `env`; nothing else reads globals.

    `wait_limit` caps how long a poll may wait for its sweep to end (the directive's
    max_wait_seconds); None leaves the directive's own bound."""

    project_root: Path
    clock: Callable[[], datetime.datetime] = utc_now
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    wait_limit: float | None = None

    def now(self) -> datetime.datetime:
        return self.clock()

    def poll_wait_seconds(self, directive: dict) -> float:
        """How long this poll may wait for the sweep to end before answering."""
        allowed = float(directive["payload"].get("max_wait_seconds", 0))
        return max(0.0, allowed if self.wait_limit is None else min(allowed, self.wait_limit))

    def sweep_dir(self, sweep_identity: str) -> Path:
        """The executor's own records of one sweep: .ml-metaopt/sweeps/<identity>/ (created on demand)."""
        path = Path(self.project_root) / METAOPT_DIR_NAME / SWEEPS_AREA / sweep_identity
        path.mkdir(parents=True, exist_ok=True)
        return path


def campaign_spend_after(budget: dict, recorded_sweep_usd: float, sweep_usd: float) -> dict:
    """The campaign's money position after a poll measured `sweep_usd` for this sweep, when
    `recorded_sweep_usd` of it was already in budget['spent_usd']. Spend never goes down."""
    spent = round(budget["spent_usd"] + max(0.0, sweep_usd - recorded_sweep_usd), 6)
    cap = budget["max_budget_usd"]
    return {"max_budget_usd": cap, "spent_usd": spent, "remaining_usd": round(max(0.0, cap - spent), 6)}
