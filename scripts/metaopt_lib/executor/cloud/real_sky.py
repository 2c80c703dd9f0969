"""The real SkyPilot (Python SDK, 0.14) and Vast.ai (`vastai` CLI, read-only) halves of RealCloudAdapter.

Facts this relies on (checked in skypilot 0.14.1 and vastai 1.9.1):
- sky.launch / sky.status / sky.down return a request id; sky.get(id) or sky.stream_and_get(id) waits for
  the request and returns its value or raises its exception. A launch request finishes once the cluster
  is up, setup has run and the job is submitted; the job runs detached.
- A task secret with a null value in the YAML is filled at launch through
  sky.Task.from_yaml_config(config, secrets_overrides=[(name, value)]); the YAML text SkyPilot keeps is
  dumped before the override, so it holds the name only.
- sky.status records carry name, status (ClusterStatus: INIT, UP, STOPPED), launched_at (epoch seconds)
  and handle; handle.launched_resources.get_cost(seconds) x handle.launched_nodes is the catalog price
  SkyPilot's own cost report uses.
- sky.down of a missing cluster raises sky.exceptions.ClusterDoesNotExist.
- `vastai show instances --raw` prints a JSON list of every instance with id, label, actual_status,
  dph_total and start_date (epoch seconds); SkyPilot labels an instance '<name>-<user hash>-head'.
"""
from __future__ import annotations

import contextlib
import copy
import datetime
import json
import math
import shutil
import subprocess
import sys
from typing import Callable, Mapping

from ..dependencies import INSTALL_HINTS, MissingDependency, require
from .adapter import CloudError, ClusterInfo, InstanceInfo

VAST_TIMEOUT_SECONDS = 120
_RETRYABLE_SKY = {"ResourcesUnavailableError", "ApiServerConnectionError", "RequestCancelled", "NetworkError",
                  "ClusterStatusFetchingError", "ServerTemporarilyUnavailableError", "CommandError",
                  "FetchClusterInfoError", "ConcurrentWorkerExhaustedError", "ConnectionError", "TimeoutError"}
_FIXABLE_SKY = {"InvalidClusterNameError", "InvalidSkyPilotConfigError", "NoCloudAccessError", "ResourcesMismatchError",
                "NotSupportedError", "ClusterOwnerIdentityMismatchError", "ApiServerAuthenticationError",
                "PermissionDeniedError", "InvalidCloudCredentials", "InvalidCloudConfigs", "CloudUserIdentityError",
                "APIVersionMismatchError", "ValueError"}


def epoch_time(value) -> datetime.datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return None


def sky_error(exc: BaseException, action: str) -> CloudError:
    """A SkyPilot exception as a CloudError; capacity and connection trouble is retryable, config is not."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    if "ResourcesUnavailableError" in names:
        return CloudError("launch-unavailable", f"SkyPilot could not {action}: {text}", True)
    if names & _FIXABLE_SKY:
        return CloudError(f"skypilot-{action.split()[0]}-rejected", f"SkyPilot could not {action}: {text}", False)
    return CloudError(f"skypilot-{action.split()[0]}-failed", f"SkyPilot could not {action}: {text}",
                      bool(names & _RETRYABLE_SKY) or isinstance(exc, OSError))


class SkyPilotClient:
    """SkyPilot's Python SDK, imported on first use."""

    def _sky(self):
        try:
            return require("sky")
        except MissingDependency as exc:
            raise CloudError("dependency-missing", str(exc), False) from None

    def _call(self, action: str, work: Callable):
        sky = self._sky()
        try:
            with contextlib.redirect_stdout(sys.stderr):  # stdout carries exactly one JSON document
                return work(sky)
        except CloudError:
            raise
        except Exception as exc:  # SkyPilot raises many types; each is mapped by sky_error.
            raise sky_error(exc, action) from None

    def launch_cluster(self, name: str, task_config: dict, secrets: dict[str, str]) -> None:
        def work(sky):
            task = sky.Task.from_yaml_config(copy.deepcopy(task_config), secrets_overrides=list(secrets.items()))
            request_id = sky.launch(task, cluster_name=name)
            sky.stream_and_get(request_id, output_stream=sys.stderr)

        self._call(f"launch {name}", work)

    def list_clusters(self, prefix: str) -> list[ClusterInfo]:
        def work(sky):
            # AUTO refreshes clusters with autostop set (all of ours), so autodowned ones drop out.
            return sky.get(sky.status(refresh=sky.StatusRefreshMode.AUTO))

        records = self._call("list clusters", work)
        out = []
        for record in records:
            name = str(record.get("name") or "")
            if name.startswith(prefix):
                status = record.get("status")
                out.append(ClusterInfo(name=name, status=str(getattr(status, "value", status)),
                                       launched_at=epoch_time(record.get("launched_at")),
                                       hourly_price_usd=_catalog_price(record.get("handle"))))
        return out

    def down_cluster(self, name: str) -> None:
        def work(sky):
            try:
                sky.get(sky.down(name))
            except sky.exceptions.ClusterDoesNotExist:
                return  # already gone: downing is idempotent

        self._call(f"down {name}", work)


def _catalog_price(handle) -> float | None:
    """Hourly catalog price of the whole cluster, or None when the handle cannot tell (the backend then
    bills the cluster at the launch's max hourly cost)."""
    try:
        return float(handle.launched_resources.get_cost(3600) * handle.launched_nodes)
    except Exception:  # no handle, no catalog entry, or an older handle shape: price unknown
        return None


class VastClient:
    """`vastai show instances --raw`, run as an argv list (no shell); read-only."""

    def __init__(self, env: Mapping[str, str], runner=subprocess.run, executable: str | None = None):
        self._env, self._runner, self._executable = dict(env), runner, executable

    def list_instances(self) -> list[InstanceInfo]:
        executable = self._executable or shutil.which("vastai", path=self._env.get("PATH"))
        if executable is None:
            raise CloudError("dependency-missing", "the vastai command is not on PATH; "
                             f"{INSTALL_HINTS['sky']} installs it, then run `vastai set api-key`", False)
        try:
            done = self._runner([executable, "show", "instances", "--raw"], capture_output=True, text=True,
                                timeout=VAST_TIMEOUT_SECONDS, env=self._env, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CloudError("vast-listing-failed", f"vastai show instances: {exc}", True) from None
        if done.returncode != 0:
            last = (done.stderr or done.stdout or "").strip().splitlines()[-1:] or ["no output"]
            raise CloudError("vast-listing-failed", f"vastai show instances exited {done.returncode}: {last[0]}", True)
        try:
            rows = json.loads(done.stdout)
        except ValueError:
            rows = None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise CloudError("vast-listing-unreadable", "vastai show instances --raw did not print a JSON list of "
                             "instances", True)
        return [InstanceInfo(instance_id=str(row.get("id")), label=str(row.get("label") or ""),
                             status=str(row.get("actual_status") or "unknown"),
                             hourly_price_usd=_price(row.get("dph_total")),
                             started_at=epoch_time(row.get("start_date")))
                for row in rows]


def _price(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    return None
