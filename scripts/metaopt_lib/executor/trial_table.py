"""The trial table every poll writes: one row per trial the sweep ran, in the order they started,
whichever backend ran them (references/schemas/trial-table.schema.json)."""
from __future__ import annotations

import datetime
import math
from pathlib import Path

from ..contract import validation
from ..contract.atomic_io import write_json_atomic
from ..contract.paths import trial_table_path
from .outcome import timestamp

MAX_ROWS = 10000
MAX_PARAMS = 500
METRIC_LIMIT = 1e300


def metric_or_none(value):
    """A finite metric inside the contract's range, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) and abs(value) <= METRIC_LIMIT else None


def utc_stamp(moment: datetime.datetime | None):
    """An aware or naive-local datetime as the contract's UTC timestamp, or None."""
    if moment is None:
        return None
    return timestamp(moment.astimezone(datetime.timezone.utc))


def row(run_id, state, params, metric_value, started=None, ended=None) -> dict:
    duration = None
    if started is not None and ended is not None:
        duration = round(max(0.0, (ended - started).total_seconds()), 3)
    kept = {key: params[key] for key in sorted(params)[:MAX_PARAMS]} if isinstance(params, dict) else {}
    return {"run_id": str(run_id)[:200], "state": state, "params": kept, "metric_value": metric_or_none(metric_value),
            "started_at": utc_stamp(started), "duration_seconds": duration}


def write_trial_table(project_root, sweep_identity: str, backend: str, space, rows: list, now) -> None:
    """Write the table atomically; a table that would break its contract (a bug) is not written.
    `space` is {method, parameters} of the sweep config, or None when unknown."""
    document = {"schema_version": 1, "sweep_identity": sweep_identity, "backend": backend, "space": space,
                "updated_at": timestamp(now), "trials": rows[:MAX_ROWS]}
    path = trial_table_path(sweep_identity)
    if validation.validate_document("trial-table", document, path):
        raise AssertionError(f"executor built an invalid trial table for {sweep_identity} (a bug)")
    write_json_atomic(Path(project_root) / path, document)
