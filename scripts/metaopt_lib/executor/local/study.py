"""The Optuna study of a local sweep: one journal file shared by the runner, a restarted runner and
poll_sweep. Each trial carries its outcome in user attributes, so anyone can summarize the sweep."""
from __future__ import annotations

import math

from ..dependencies import require_optuna
from .sweep import SweepFiles

# What happened to a trial, kept in its "outcome" user attribute: finished, pruned (hyperband),
# no_metric (exit 0 without logging the metric), failed (non-zero exit), killed (idle watchdog),
# stopped (cut by a stop request, the wall clock or the budget). A FAIL trial without an outcome was
# interrupted by a runner that died; it does not count against the run cap (a grid point is re-run).
FINISHED_OUTCOMES = ("finished", "pruned", "no_metric")
KILLED_OUTCOMES = ("killed",)


def open_study(files: SweepFiles, spec: dict, plan, sampler=None, pruner=None):
    """Create or load the sweep's study (storage: a JournalFileBackend next to the other records)."""
    optuna = require_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(files.study_log)))
    return optuna.create_study(storage=storage, study_name=spec["sweep_identity"], direction=plan.direction,
                               sampler=sampler, pruner=pruner, load_if_exists=True)


def run_id(spec: dict, number: int) -> str:
    return f"{spec['sweep_id']}-t{number}"


def summarize(study, direction: str) -> dict:
    """Trial counts (finished/running/failed/killed) and the best finished trial, from the study."""
    counts = {"finished": 0, "running": 0, "failed": 0, "killed": 0}
    best = None
    for trial in study.get_trials(deepcopy=False):
        outcome = trial.user_attrs.get("outcome")
        if trial.state.name == "RUNNING":
            counts["running"] += 1
        elif outcome in FINISHED_OUTCOMES:
            counts["finished"] += 1
        elif outcome in KILLED_OUTCOMES:
            counts["killed"] += 1
        elif trial.state.name != "WAITING":
            counts["failed"] += 1
        value = trial.value if trial.state.name == "COMPLETE" else None
        if value is None or not math.isfinite(value):
            continue
        if best is None or (value > best[0] if direction == "maximize" else value < best[0]):
            best = (value, trial)
    best_run = None
    if best is not None:
        value, trial = best
        best_run = {"run_id": trial.user_attrs.get("run_id", f"trial-{trial.number}"), "run_url": None,
                    "metric_value": value, "config": trial.user_attrs.get("config", {})}
    return {"trials": counts, "best_run": best_run}


def counted_trials(study) -> int:
    """Trials that count against the run cap: every trial started, except interrupted ones."""
    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state.name != "WAITING" and not (t.state.name == "FAIL" and "outcome" not in t.user_attrs))
