"""The skypilot backend's own record of one sweep (.ml-metaopt/sweeps/<identity>/cloud.json).

Intent is written before every side effect, so whatever a crash interrupted is found again by the next
directive: a sweep being created is looked up by name, a cluster being launched by its name. Every
read is validated (a corrupt record is a RecordError naming the file, the JSON path and the fix).
"""
from __future__ import annotations

import datetime
from pathlib import Path

from ...contract.paths import METAOPT_DIR_NAME
from ..outcome import SWEEPS_AREA, ExecContext, parse_timestamp, timestamp
from ..records import SweepLock, read_record, write_record
from .task import cluster_prefix

RECORD_SCHEMA = "cloud-sweep-record"
RECORD_FILE = "cloud.json"
LOCK_FILE = "cloud.lock"


def record_path(ctx: ExecContext, identity: str) -> Path:
    """Where the record lives; computed without creating anything (a dry run changes nothing)."""
    return Path(ctx.project_root) / METAOPT_DIR_NAME / SWEEPS_AREA / identity / RECORD_FILE


def _recovery_hint(path: Path, identity: str) -> str:
    return (f"the executor cannot trust {path}; restore it from a backup, or release this sweep's machines by hand "
            f"(sky status; sky down -y every cluster whose name starts with {cluster_prefix(identity)}; wandb sweep "
            f"--stop ENTITY/PROJECT/SWEEP_ID for the W&B sweep named {identity}), then delete the file")


def load(ctx: ExecContext, identity: str) -> dict | None:
    """The validated record, or None when this identity was never launched here. Raises RecordError."""
    path = record_path(ctx, identity)
    return read_record(path, RECORD_SCHEMA, _recovery_hint(path, identity), ctx.project_root)


def save(ctx: ExecContext, record: dict) -> None:
    record["updated_at"] = timestamp(ctx.now())
    ctx.sweep_dir(record["sweep_identity"])
    write_record(record_path(ctx, record["sweep_identity"]), RECORD_SCHEMA, record)


def record_lock(ctx: ExecContext, identity: str) -> SweepLock:
    """Serializes executor runs on one sweep, so a poll and a teardown never interleave their writes."""
    return SweepLock(ctx.sweep_dir(identity) / LOCK_FILE)


def new_record(payload: dict, prefix: str, now: datetime.datetime) -> dict:
    """A fresh record for a launch directive, with the sweep in phase 'creating'."""
    moment = timestamp(now)
    return {"schema_version": 1, "sweep_identity": payload["sweep_identity"],
            "wandb": {"entity": payload["wandb"]["entity"], "project": payload["wandb"]["project"]},
            "cluster_prefix": prefix, "max_hourly_cost_usd": payload["skypilot"]["max_hourly_cost_usd"],
            "num_agents": payload["num_agents"], "run_cap": payload["sweep_config"]["run_cap"],
            "space": sweep_space(payload["sweep_config"]), "attempt": 1,
            "sweep": creating_sweep(now), "abandoned_sweep_ids": [], "clusters": [], "killed_runs": [],
            "spend_usd": 0, "updated_at": moment}


def sweep_space(sweep_config: dict) -> dict:
    return {"method": sweep_config["method"], "parameters": sweep_config["parameters"]}


def creating_sweep(now: datetime.datetime) -> dict:
    return {"phase": "creating", "sweep_id": None, "url": None, "intent_at": timestamp(now), "created_at": None,
            "stop_requested_at": None, "stop_reason": None}


def new_cluster(name: str, attempt: int, agent_index: int | None, launch: str, now: datetime.datetime) -> dict:
    moment = timestamp(now)
    return {"name": name, "attempt": attempt, "agent_index": agent_index, "launch": launch, "intent_at": moment,
            "launched_at": None, "down_requested_at": None, "down_reason": None, "ended_at": None,
            "hourly_price_usd": None, "billed_usd": 0, "billed_until": moment}


def cluster_entry(record: dict, name: str) -> dict | None:
    for entry in record["clusters"]:
        if entry["name"] == name:
            return entry
    return None


def open_clusters(record: dict) -> list:
    """Clusters that may still run or bill: not yet confirmed gone by every listing."""
    return [entry for entry in record["clusters"] if entry["ended_at"] is None]


def stop_requested(record: dict, reason: str, now: datetime.datetime) -> None:
    """Record the decision to stop the sweep (before the stop call). The first reason stays."""
    sweep = record["sweep"]
    if sweep["stop_reason"] is None:
        sweep["stop_reason"], sweep["stop_requested_at"] = reason, timestamp(now)


def down_requested(entry: dict, reason: str, now: datetime.datetime) -> None:
    """Record the decision to down a cluster (before the down call). The first reason stays."""
    if entry["down_requested_at"] is None:
        entry["down_requested_at"], entry["down_reason"] = timestamp(now), reason


def hours_between(start: str, end: datetime.datetime) -> float:
    return max(0.0, (end - parse_timestamp(start)).total_seconds()) / 3600
