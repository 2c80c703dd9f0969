"""What a poll reads from W&B: the sweep's normalized status, trial counts, the best run and the runs
the idle watchdog must stop. Pure functions of the adapter's answers and the record."""
from __future__ import annotations

import datetime
import math
import statistics

from ..trial_table import row
from .adapter import RunInfo

# W&B spells sweep states in upper case (RUNNING, FINISHED, ...); compared case-insensitively.
SWEEP_STATES = {"pending": "pending", "running": "running", "paused": "paused", "finished": "finished",
                "canceled": "canceled", "cancelled": "canceled", "failed": "failed", "crashed": "failed"}
STOP_REASON_FOR_STATE = {"finished": "run_cap", "canceled": "canceled", "failed": "failed"}
RUNNING_RUN_STATES = ("running", "pending", "preempting")
METRIC_LIMIT = 1e300
MAX_CONFIG_KEYS = 500


def normalized_sweep_state(raw: str) -> str | None:
    return SWEEP_STATES.get(str(raw).strip().lower())


def status_after_agents_gone(finished: int, run_cap: int) -> tuple:
    """How a sweep ends when W&B still says running but no agent is left to run it (see cloud/poll.py)."""
    if finished >= run_cap:
        return "finished", "run_cap"
    if finished > 0:
        return "canceled", "canceled"
    return "failed", "failed"


def status_from_record(record: dict, finished: int) -> tuple | None:
    """(status, stop reason) when the executor itself stopped the sweep, else None (W&B decides)."""
    reason = record["sweep"]["stop_reason"]
    if reason == "teardown":
        return "canceled", "canceled"
    if reason == "budget":
        return "canceled", "budget"
    if reason == "launch-failed":
        return "failed", "failed"
    if reason == "agents-gone":
        return status_after_agents_gone(finished, record["run_cap"])
    return None


def trial_seconds(runs: list):
    """Median wall time of the finished runs (first to last heartbeat), or None before one finished. A
    heartbeat W&B dates before the run's creation (clocks of two machines) counts as no time, never less."""
    times = sorted(max(0.0, (r.heartbeat_at - r.created_at).total_seconds()) for r in runs
                   if r.state.lower() == "finished" and r.heartbeat_at and r.created_at)
    return round(statistics.median(times), 3) if times else None


def trial_counts(runs: list, killed_ids: set) -> dict:
    counts = {"finished": 0, "running": 0, "failed": 0, "killed": len(killed_ids), "interrupted": 0}
    for run in runs:
        if run.run_id in killed_ids:
            continue
        state = run.state.lower()
        if state == "finished":
            counts["finished"] += 1
        elif state in RUNNING_RUN_STATES:
            counts["running"] += 1
        else:
            counts["failed"] += 1  # crashed, failed, killed by someone else, preempted
    return counts


def _usable(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
        and abs(value) <= METRIC_LIMIT


def best_run(runs: list, direction: str) -> dict | None:
    """The run with the best finite objective value (ties: the smallest run id), as common bestRun."""
    candidates = sorted((r for r in runs if _usable(r.summary_metric)), key=lambda r: r.run_id)
    best = None
    for run in candidates:
        if best is None or (run.summary_metric > best.summary_metric if direction == "maximize"
                            else run.summary_metric < best.summary_metric):
            best = run
    if best is None:
        return None
    config = {key: best.config[key] for key in sorted(best.config)[:MAX_CONFIG_KEYS]}
    url = best.url if best.url and len(best.url) <= 500 else None
    return {"run_id": best.run_id, "run_url": url, "metric_value": float(best.summary_metric), "config": config}


def is_idle(run: RunInfo, now: datetime.datetime, timeout: datetime.timedelta) -> bool:
    """A running run whose heartbeat went stale, or that logged nothing new (since it started) for `timeout`."""
    if run.state.lower() != "running":
        return False
    progress = run.last_logged_at or run.created_at
    return any(moment is not None and now - moment >= timeout for moment in (run.heartbeat_at, progress))


def run_cluster(run: RunInfo, cluster_names: set) -> str | None:
    """The cluster a run ran on: its tag that names one of the sweep's clusters (WANDB_TAGS at launch)."""
    for tag in run.tags:
        if tag in cluster_names:
            return tag
    return None


# W&B run states as trial-table states; a run the idle watchdog stopped is "killed" whatever W&B says.
TABLE_STATES = {"finished": "finished", "running": "running", "pending": "running", "preempting": "running",
                "crashed": "failed", "failed": "failed", "killed": "stopped", "preempted": "interrupted"}
_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)


def trial_rows(runs: list, killed_ids: set) -> list:
    """The sweep's runs for the trial table, oldest first; the config without W&B's own keys."""
    rows = []
    for run in sorted(runs, key=lambda r: (r.created_at or _EPOCH, r.run_id)):
        state = "killed" if run.run_id in killed_ids else TABLE_STATES.get(run.state.lower(), "failed")
        params = {k: v for k, v in run.config.items() if not str(k).startswith("_")}
        ended = run.heartbeat_at if state != "running" else None
        rows.append(row(run.run_id, state, params, run.summary_metric, run.created_at, ended))
    return rows
