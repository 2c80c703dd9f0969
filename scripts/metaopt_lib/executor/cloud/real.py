"""RealCloudAdapter: the CloudAdapter a user with W&B, SkyPilot and Vast.ai accounts runs.

W&B through its public API (wandb >= 0.31) and the `wandb sweep --stop` CLI; SkyPilot and Vast.ai in
cloud_real_sky. Packages are imported on first use, so a missing one is a CloudError with the install
command (pip install "wandb>=0.31", pip install "skypilot[vast]>=0.14"), never an ImportError.

Facts this relies on (checked in wandb 0.31): wandb.Api(api_key=, timeout=); Api.project(name, entity)
.sweeps() lists a project's sweeps (iterating a project that does not exist raises ValueError "Could not
find project"); a Sweep has id, state (upper case), url, config (with name and run_cap) and created_at;
Api.runs(path, filters={"sweep": id}, lazy=False) gives runs with id, name, state, url, config,
summary_metrics (with _timestamp), tags, heartbeat_at and created_at; Run.stop() flags a run to stop;
wandb.sweep(config, entity=, project=) creates a sweep, printing to stdout and logging in from
WANDB_API_KEY; `wandb sweep --stop ENTITY/PROJECT/ID` sets the state FINISHED and fails on a sweep
that already ended; WANDB_TAGS (comma-separated) becomes a run's tags.
"""
from __future__ import annotations

import contextlib
import datetime
import math
import os
import subprocess
import sys
from typing import Callable, Mapping

from ..dependencies import MissingDependency, require
from .adapter import CloudError, ClusterInfo, InstanceInfo, RunInfo, SweepInfo
from .real_sky import SkyPilotClient, VastClient, epoch_time

WANDB_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 120
ENDED_SWEEP_STATES = ("FINISHED", "CANCELED", "CANCELLED", "FAILED", "CRASHED")


def wandb_error(exc: BaseException, action: str) -> CloudError:
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    if "AuthenticationError" in names:
        return CloudError("wandb-auth-failed", f"W&B rejected the credentials while trying to {action}: {text}; "
                          "check WANDB_API_KEY", False)
    if "Could not find sweep" in str(exc):
        return CloudError("sweep-not-found", f"could not {action}: {text}", False)
    if "CommError" in names or isinstance(exc, (OSError, TimeoutError)):
        return CloudError("wandb-unavailable", f"could not {action}: {text}", True)
    return CloudError("wandb-request-failed", f"could not {action}: {text}", False)


def iso_time(value) -> datetime.datetime | None:
    """W&B's timestamps ('2026-11-22T10:00:00', UTC without offset, or with Z) as aware datetimes."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def _finite(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


class RealCloudAdapter:
    """The CloudAdapter backed by the real services. `env` supplies WANDB_API_KEY (held in memory only)
    and the environment of the wandb and vastai commands; `runner` runs those commands (argv, no shell)."""

    def __init__(self, env: Mapping[str, str], runner: Callable = subprocess.run):
        self._env, self._runner, self._api = dict(env), runner, None
        self._sky, self._vast = SkyPilotClient(), VastClient(self._env, runner)

    # ---- W&B ------------------------------------------------------------------------------------

    def _wandb(self):
        key = self._env.get("WANDB_API_KEY")
        if not key:
            raise CloudError("wandb-api-key-missing", "WANDB_API_KEY is not set in the executor's environment", False)
        try:
            wandb = require("wandb")
        except MissingDependency as exc:
            raise CloudError("dependency-missing", str(exc), False) from None
        # wandb.sweep logs in from the process environment; the key stays in this process's memory.
        os.environ.setdefault("WANDB_API_KEY", key)
        if self._api is None:
            self._api = self._call("connect to W&B", lambda: wandb.Api(api_key=key, timeout=WANDB_TIMEOUT_SECONDS))
        return wandb

    def _call(self, action: str, work: Callable):
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries exactly one JSON document
                return work()
        except CloudError:
            raise
        except Exception as exc:  # wandb raises CommError, ValueError, requests errors...; mapped by wandb_error
            raise wandb_error(exc, action) from None

    def _sweep(self, entity: str, project: str, sweep_id: str):
        self._wandb()
        sweep = self._call(f"read sweep {sweep_id}", lambda: self._api.sweep(f"{entity}/{project}/{sweep_id}"))
        self._call(f"read sweep {sweep_id}", lambda: sweep.load(force=True))  # Api.sweep caches per path
        return sweep

    @staticmethod
    def _info(sweep) -> SweepInfo:
        config = sweep.config or {}
        run_cap = config.get("run_cap")
        return SweepInfo(sweep_id=str(sweep.id), name=str(sweep.name), state=str(sweep.state), url=sweep.url,
                         run_cap=run_cap if isinstance(run_cap, int) else None,
                         created_at=iso_time(getattr(sweep, "created_at", None)))

    def find_sweep(self, entity: str, project: str, name: str) -> SweepInfo | None:
        self._wandb()

        def work():
            matches = []
            try:
                for sweep in self._api.project(name=project, entity=entity).sweeps():
                    if name in ((sweep.config or {}).get("name"), getattr(sweep, "display_name", None)):
                        matches.append(self._info(sweep))
            except ValueError as exc:
                if "Could not find project" in str(exc):
                    return []  # no project yet: wandb.sweep creates it
                raise
            return matches

        matches = self._call(f"list the sweeps of {entity}/{project}", work)
        oldest = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
        return max(matches, key=lambda s: s.created_at or oldest, default=None)

    def create_sweep(self, entity: str, project: str, config: dict) -> SweepInfo:
        wandb = self._wandb()
        sweep_id = self._call(f"create a sweep in {entity}/{project}",
                              lambda: wandb.sweep(dict(config), entity=entity, project=project))
        return self.get_sweep(entity, project, str(sweep_id))

    def get_sweep(self, entity: str, project: str, sweep_id: str) -> SweepInfo:
        return self._info(self._sweep(entity, project, sweep_id))

    def stop_sweep(self, entity: str, project: str, sweep_id: str) -> None:
        if self.get_sweep(entity, project, sweep_id).state.upper() in ENDED_SWEEP_STATES:
            return
        argv = [sys.executable, "-m", "wandb", "sweep", "--stop", f"{entity}/{project}/{sweep_id}"]
        try:
            done = self._runner(argv, capture_output=True, text=True, timeout=STOP_TIMEOUT_SECONDS, env=self._env,
                                check=False)
            failed = done.returncode != 0
            why = ((done.stderr or done.stdout or "").strip().splitlines() or ["no output"])[-1]
        except (OSError, subprocess.TimeoutExpired) as exc:
            failed, why = True, str(exc)
        # A sweep that ended meanwhile makes the CLI fail; what counts is the state afterwards.
        if failed and self.get_sweep(entity, project, sweep_id).state.upper() not in ENDED_SWEEP_STATES:
            raise CloudError("sweep-stop-failed", f"wandb sweep --stop {entity}/{project}/{sweep_id}: {why}", True)

    def list_runs(self, entity: str, project: str, sweep_id: str, metric: str) -> list[RunInfo]:
        self._wandb()

        def work():
            out = []
            for run in self._api.runs(f"{entity}/{project}", filters={"sweep": sweep_id}, per_page=100, lazy=False):
                summary = run.summary_metrics or {}
                out.append(RunInfo(run_id=str(run.id), name=run.name, state=str(run.state), url=run.url,
                                   config=dict(run.config or {}), summary_metric=_finite(summary.get(metric)),
                                   heartbeat_at=iso_time(getattr(run, "heartbeat_at", None)),
                                   last_logged_at=epoch_time(summary.get("_timestamp")),
                                   tags=tuple(str(t) for t in (getattr(run, "tags", None) or ())),
                                   created_at=iso_time(getattr(run, "created_at", None))))
            return out

        return self._call(f"list the runs of sweep {sweep_id}", work)

    def stop_run(self, entity: str, project: str, run_id: str) -> None:
        self._wandb()
        self._call(f"stop run {run_id}", lambda: self._api.run(f"{entity}/{project}/{run_id}").stop())

    # ---- SkyPilot and Vast.ai --------------------------------------------------------------------

    def launch_cluster(self, name: str, task_config: dict, secrets: dict[str, str]) -> None:
        self._sky.launch_cluster(name, task_config, secrets)

    def list_clusters(self, prefix: str) -> list[ClusterInfo]:
        return self._sky.list_clusters(prefix)

    def down_cluster(self, name: str) -> None:
        self._sky.down_cluster(name)

    def list_instances(self) -> list[InstanceInfo]:
        return self._vast.list_instances()
