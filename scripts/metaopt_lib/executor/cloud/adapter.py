"""The one doorway from the skypilot backend to the outside world: W&B, SkyPilot and Vast.ai.

Everything the backend learns from or asks of a cloud service passes through a CloudAdapter, so the
backend's money logic is tested against a recorded fake (tests/cloud_fake.py) and the real adapter
(real.py) stays a thin translation layer. Values are kept raw (W&B and SkyPilot states as the
services spell them); the backend normalizes them.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SweepInfo:
    """A W&B sweep. `state` is W&B's own spelling (RUNNING, PENDING, PAUSED, FINISHED, CANCELED, ...)."""

    sweep_id: str
    name: str
    state: str
    url: str | None
    run_cap: int | None
    created_at: datetime.datetime | None = None


@dataclass(frozen=True)
class RunInfo:
    """A W&B run of a sweep. `state` is W&B's spelling (running, finished, crashed, failed, killed, ...);
    `summary_metric` is the objective metric's summary value when it is a finite number;
    `last_logged_at` is the summary's `_timestamp` (the last wandb.log)."""

    run_id: str
    name: str | None
    state: str
    url: str | None
    config: dict
    summary_metric: float | None
    heartbeat_at: datetime.datetime | None
    last_logged_at: datetime.datetime | None
    tags: tuple = ()
    created_at: datetime.datetime | None = None


@dataclass(frozen=True)
class ClusterInfo:
    """A SkyPilot cluster as `sky status` lists it. `status` is SkyPilot's (INIT, UP, STOPPED);
    `hourly_price_usd` is SkyPilot's catalog price for the whole cluster, when it can tell."""

    name: str
    status: str
    launched_at: datetime.datetime | None
    hourly_price_usd: float | None


@dataclass(frozen=True)
class InstanceInfo:
    """A Vast.ai instance as `vastai show instances --raw` lists it; `hourly_price_usd` is its dph_total
    (what Vast bills per hour, disk included)."""

    instance_id: str
    label: str
    status: str
    hourly_price_usd: float | None
    started_at: datetime.datetime | None


class CloudError(Exception):
    """A cloud call failed. `code` is a slug (e.g. sweep-not-found, launch-unavailable); `retryable` says
    whether the same call may succeed later (network, capacity) or needs a human (credentials, config)."""

    def __init__(self, code: str, message: str, retryable: bool):
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class CloudAdapter(Protocol):
    """Every W&B, SkyPilot and Vast.ai call the skypilot backend makes.

    Every method raises CloudError on failure; none returns an empty answer for a failed call (an empty
    list means the service answered that nothing exists)."""

    def find_sweep(self, entity: str, project: str, name: str) -> SweepInfo | None:
        """The most recently created sweep named `name` in entity/project, or None when there is none."""

    def create_sweep(self, entity: str, project: str, config: dict) -> SweepInfo:
        """Create a sweep from `config` (which carries its `name` and `run_cap`)."""

    def get_sweep(self, entity: str, project: str, sweep_id: str) -> SweepInfo:
        """The sweep with this id; CloudError code sweep-not-found when it does not exist."""

    def stop_sweep(self, entity: str, project: str, sweep_id: str) -> None:
        """Stop the sweep (no new runs start). Idempotent: stopping a stopped sweep succeeds."""

    def list_runs(self, entity: str, project: str, sweep_id: str, metric: str) -> list[RunInfo]:
        """Every run of the sweep, with `metric` read from each run's summary."""

    def stop_run(self, entity: str, project: str, run_id: str) -> None:
        """Ask W&B to stop the run (idempotent)."""

    def launch_cluster(self, name: str, task_config: dict, secrets: dict[str, str]) -> None:
        """Launch cluster `name` running `task_config`, with `secrets` supplied as the task's secret env
        values (never written anywhere). Returns once the machine is provisioned, its setup has run and
        the agent job is submitted; the job itself runs detached on the machine."""

    def list_clusters(self, prefix: str) -> list[ClusterInfo]:
        """Every SkyPilot cluster whose name starts with `prefix`."""

    def down_cluster(self, name: str) -> None:
        """Tear the cluster down (all billing stops). Idempotent: a cluster that is gone succeeds."""

    def list_instances(self) -> list[InstanceInfo]:
        """Every Vast.ai instance of the account (read-only)."""
