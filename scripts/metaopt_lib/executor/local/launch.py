"""Starting (and restarting) the detached local sweep runner."""
from __future__ import annotations

import subprocess
import time
import zlib

from ...contract.paths import SKILL_ROOT
from ...contract.regular_files import FileRefused, open_append
from ..records import RecordError
from .processes import SWEEP_MARKER
from .sweep import SweepFiles, read_status, runner_alive

EXECUTOR_SCRIPT = SKILL_ROOT / "scripts" / "skypilot_wandb_worker.py"
RUNNER_READY_SECONDS = 20.0


def sweep_id_for(identity: str) -> str:
    return f"local-{identity}"


def seed_for(identity: str) -> int:
    """Same identity, same sampler seed: a restarted runner keeps sampling the same sequence."""
    return zlib.crc32(identity.encode())


def runner_resource(spec: dict) -> dict:
    return {"kind": "process", "name": f"runner-{spec['sweep_identity']}", "hourly_cost_usd": spec["hourly_cost_usd"]}


def start_runner(files: SweepFiles, spec: dict, env) -> bool:
    """Start a runner in its own session and wait until it holds the runner lock (True) or exited."""
    env = dict(env)
    env[SWEEP_MARKER] = str(files.root)
    argv = [spec["interpreter"], str(EXECUTOR_SCRIPT), "local-runner", "--sweep-dir", str(files.root)]
    try:
        log = open_append(files.runner_log, str(files.runner_log), files.project_root)
    except FileRefused as exc:
        raise RecordError([exc.issue]) from None
    with log:
        process = subprocess.Popen(argv, cwd=files.root, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + RUNNER_READY_SECONDS
    while time.monotonic() < deadline:
        if _status_of(files, process.pid) and runner_alive(files):
            return True
        if process.poll() is not None:
            return runner_alive(files)
        time.sleep(0.05)
    return runner_alive(files)


def _status_of(files: SweepFiles, pid: int) -> bool:
    """Whether status.json was written by the runner of this pid (a dead runner's file does not count)."""
    try:
        status = read_status(files)
    except RecordError:
        return False
    return status is not None and status["runner_pid"] == pid
