"""One local trial: the training program started the way `wandb agent` starts a run, in its own
process group, with the metric capture on its PYTHONPATH, its output redacted into output.log by the
relay that leads the group (output_relay.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ...contract.process_group import kill_group
from ...contract.redaction import Redactor
from ...contract.regular_files import FileRefused, open_append, read_at
from ...contract.trial_command import trial_argv
from ..trial_env import run_environment, write_param_files
from .output_relay import relay_argv, send_secrets
from .processes import SWEEP_MARKER, TRIAL_MARKER, kill_pids, marked_pids
from .sweep import SweepFiles

MAX_METRIC_LINE = 1 << 20


def trial_environment(base_env, files: SweepFiles, spec: dict, trial_dir: Path, run_id: str) -> dict:
    return run_environment(base_env, trial_dir, spec["sweep_id"], run_id,
                           {SWEEP_MARKER: str(files.root), TRIAL_MARKER: str(trial_dir)})


class MetricTail:
    """Reads the lines the capture appended since the last call; tolerates a partial last line."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def read_new(self) -> list:
        try:
            chunk = read_at(self.path, str(self.path), self.offset, MAX_METRIC_LINE * 4)
        except FileRefused:  # not a regular file (a FIFO must not block the runner): no metrics from it
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        records = []
        for line in chunk[:end].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and (isinstance(record.get("metrics"), dict) or record.get("finished") is True):
                records.append(record)
        return records


class TrialProcess:
    """A running trial. `metric_values` holds every value of the objective metric logged so far."""

    def __init__(self, number: int, run_id: str, trial_dir: Path, metric: str | None):
        self.number, self.run_id, self.trial_dir, self.metric = number, run_id, trial_dir, metric
        self.tail = MetricTail(trial_dir / "metrics.jsonl")
        self.metric_values = []
        self.run_finished = False  # the program called wandb's run.finish()
        self.process = None

    def start(self, files: SweepFiles, spec: dict, params: dict, base_env, started: float, command: list,
              redactor: Redactor) -> None:
        """Start the program of `command` (the sweep's command template with its real values; the spec's
        shows them [REDACTED]); the pid of the process started (the relay) is the trial's group."""
        write_param_files(self.trial_dir, params)
        argv = trial_argv(command, spec["program"], params, base_env, str(self.trial_dir / "args.json"),
                          spec["interpreter"])
        env = trial_environment(base_env, files, spec, self.trial_dir, self.run_id)
        cwd = files.project_root / spec["repo"]
        self.last_progress = started
        with open_append(self.trial_dir / "output.log", "output.log", files.project_root) as log:
            self.process = subprocess.Popen(relay_argv(spec["interpreter"], argv), cwd=cwd, env=env,
                                            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                                            **_own_group())
        send_secrets(self.process, redactor)

    @property
    def pgid(self) -> int:
        return self.process.pid

    def collect(self, now: float) -> list:
        """New values of the objective metric; any logged record counts as progress for the watchdog."""
        records = self.tail.read_new()
        if records:
            self.last_progress = now
        self.run_finished |= any(r.get("finished") is True for r in records)
        new = [r["metrics"][self.metric] for r in records if self.metric in r.get("metrics", {})]
        self.metric_values += new
        return new

    def exit_code(self):
        return self.process.poll()

    def kill(self, grace_seconds: float = 3.0) -> None:
        """Stop the trial's process group, then anything it started elsewhere (e.g. wandb's service)."""
        kill_group(self.pgid, grace_seconds)
        kill_pids(marked_pids(TRIAL_MARKER, str(self.trial_dir)))
        self.process.wait()


def _own_group() -> dict:
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"preexec_fn": os.setpgrp}  # Python 3.10; the runner is single-threaded, so this is safe
