"""The step runs the executor itself: one child process per executor directive, with the same
interpreter, in a session of its own, its output kept in .ml-metaopt/logs/executor/<id>.log.

The child holds a lock on its directive while it works (executor/core.py). A step that has to give
up waiting (its wait bound passed, or the step itself was killed by a host's tool timeout) leaves the
child to finish; the next step sees the lock and waits for that child instead of starting another.
The result file the child writes is read and validated by the next engine step, as any input is.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass

from ..contract.conventions import one_line
from ..contract.issues import ContractError
from ..contract.locks import is_locked
from ..contract.regular_files import FileRefused, open_append
from . import actions

LOG_AREA = "logs/executor"
CHILD_CHECK_SECONDS = 0.1
# A poll asked to wait answers this much before the step's bound, so the step can still record it.
ANSWER_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class ExecutorRun:
    record_id: str
    directive_type: str
    exit_code: int | None   # None: the child is still running (or was started by an earlier step)
    seconds: float
    finished: bool


class SubprocessExecutor:
    """Carries out one executor directive as a child process and waits for it up to a bound."""

    def __init__(self, script=actions.EXECUTOR_SCRIPT, env=None):
        self.script, self.env = script, env

    def run(self, campaign_dir, record, seconds_left: float, clock) -> ExecutorRun:
        started = clock.monotonic()
        directive = campaign_dir.path(record["spec_path"])
        if is_locked(directive):  # a child of an earlier step is still at work: wait for it, start none
            child = None
        else:
            argv = actions.executor_argv(campaign_dir, record, self.script)
            argv += ["--wait-limit", f"{max(0.0, seconds_left - ANSWER_MARGIN_SECONDS):.1f}"]
            log = campaign_dir.dir / LOG_AREA / f"{record['id']}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with open_log(campaign_dir, log) as out:
                child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=self.env)
        deadline = time.monotonic() + max(0.0, seconds_left)
        while True:
            code = child.poll() if child is not None else None
            done = code is not None if child is not None else not is_locked(directive)
            if done or time.monotonic() >= deadline:
                return ExecutorRun(record["id"], record["name"], code, round(clock.monotonic() - started, 3), done)
            time.sleep(CHILD_CHECK_SECONDS)


def open_log(campaign_dir, path, truncate=False):
    """A log under .ml-metaopt/ for a child's output, by the file rules (a FIFO there must not block)."""
    try:
        return open_append(path, campaign_dir.rel(path), campaign_dir.root, truncate)
    except FileRefused as exc:
        raise ContractError([exc.issue]) from None


def journal_entry(campaign_dir, state, record, run: ExecutorRun, now) -> dict:
    """The audit line of one executor run the step made (or waited for)."""
    path = campaign_dir.path(record["result_path"])
    status, what = "running", "still running"
    if run.finished:
        document, issues = campaign_dir.load("executor-result", path) if os.path.lexists(path) else (None, ())
        if document is None:
            status, what = "missing", "wrote no result"
        elif issues:
            status, what = "invalid", f"wrote an invalid result: {issues[0].message}"
        else:
            status, what = document["status"], result_summary(document)
    code = "" if run.exit_code is None else f"exit {run.exit_code}, "
    return {"seq": state["step_seq"], "at": now, "event": "executor", "id": record["id"], "type": record["name"],
            "exit_code": run.exit_code, "seconds": run.seconds, "result": status,
            "summary": one_line(f"executor {record['name']} {record['id']}: {code}{run.seconds:.1f} s; "
                                         f"{what}")}


def result_summary(document) -> str:
    """One line about an executor result, for the journal and the status view."""
    if document["status"] != "ok":
        return f"failed ({document['error']['code']}): {document['error']['message']}"
    details = document["details"]
    kind = document["type"]
    if kind == "run_smoke_test":
        return f"smoke test {'passed' if details['passed'] else 'failed'} (exit {details['exit_code']})"
    if kind == "launch_sweep":
        return f"{'reconnected to' if details['reconnected'] else 'launched'} {details['sweep_id']}"
    if kind == "poll_sweep":
        trials = details["trials"]
        best = details["best_run"]["metric_value"] if details["best_run"] else None
        return (f"{details['sweep_status']}: {trials['finished']} finished, {trials['running']} running, best "
                f"{'none' if best is None else f'{best:.6g}'}; ${details['budget']['spent_usd']:.2f} spent")
    return f"torn down; {len(details['resources_remaining'])} resource(s) remain"
