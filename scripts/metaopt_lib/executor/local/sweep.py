"""Where one local sweep keeps its files, and the checks every reader of them shares."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ...contract.locks import Busy, FileLock, is_locked
from ..records import read_record

SPEC_SCHEMA = "local-sweep"
STATUS_SCHEMA = "local-sweep-status"
# A dead runner is restarted by poll_sweep at most this many times before the sweep is reported failed.
MAX_RUNNER_GENERATIONS = 4


@dataclass(frozen=True)
class SweepFiles:
    """The files of one local sweep under .ml-metaopt/sweeps/<identity>/."""

    root: Path

    @property
    def spec(self) -> Path:
        return self.root / "sweep.json"

    @property
    def status(self) -> Path:
        return self.root / "status.json"

    @property
    def study_log(self) -> Path:
        return self.root / "study.journal"

    @property
    def runner_lock(self) -> Path:
        return self.root / "runner.lock"

    @property
    def executor_lock(self) -> Path:
        return self.root / "executor.lock"

    @property
    def stop_request(self) -> Path:
        return self.root / "stop-requested"

    @property
    def runner_log(self) -> Path:
        return self.root / "runner.log"

    def trial_dir(self, number: int) -> Path:
        return self.root / "trials" / f"trial-{number}"

    @property
    def project_root(self) -> Path:
        return self.root.parents[2]


def _teardown_hint(files: SweepFiles) -> str:
    return (f"the executor cannot trust {files.root}; stop its processes by hand "
            "(ps -eo pid,sid,args | grep local-runner) and remove the directory to start the sweep afresh")


def read_spec(files: SweepFiles) -> dict | None:
    return read_record(files.spec, SPEC_SCHEMA, _teardown_hint(files), files.project_root)


def read_status(files: SweepFiles) -> dict | None:
    return read_record(files.status, STATUS_SCHEMA, _teardown_hint(files), files.project_root)


def runner_alive(files: SweepFiles) -> bool:
    """True while a runner holds the sweep's runner lock (immune to pid reuse, unlike a pid check)."""
    return is_locked(files.runner_lock)


def hold_runner_lock(files: SweepFiles):
    """Take the runner lock for the life of this process; returns the held lock, or None if held."""
    try:
        return FileLock(files.runner_lock).acquire(wait=False)
    except Busy:
        return None
