"""The Optuna study of a local sweep: one journal file shared by the runner, a restarted runner and
poll_sweep. Each trial carries its outcome in user attributes, so anyone can summarize the sweep."""
from __future__ import annotations

import json
import math
import statistics

from ..dependencies import require_optuna
from ..trial_table import row
from .sweep import SweepFiles

# What happened to a trial, kept in its "outcome" user attribute: finished, pruned (hyperband),
# no_metric (exit 0 without logging the metric), failed (non-zero exit), killed (idle watchdog),
# stopped (cut by a stop request, the wall clock or the budget), interrupted (its runner died; a
# restarted runner found it: it does not count against the run cap and a grid point is run again;
# a FAIL trial without an outcome is one from before this was recorded), duplicate (the sampler
# proposed a parameter set the sweep already ran: never started, never counted).
FINISHED_OUTCOMES = ("finished", "pruned", "no_metric")
KILLED_OUTCOMES = ("killed",)
NOT_RUN_OUTCOMES = ("duplicate",)
# The outcomes of trials whose parameter set has run: the sweep never starts it again.
RAN_OUTCOMES = FINISHED_OUTCOMES + KILLED_OUTCOMES + ("failed", "stopped")


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


def interrupted(trial) -> bool:
    outcome = trial.user_attrs.get("outcome")
    return outcome == "interrupted" or (trial.state.name == "FAIL" and outcome is None)


def summarize(study, direction: str) -> dict:
    """Trial counts (finished/running/failed/killed/interrupted) and the best finished trial."""
    counts = {"finished": 0, "running": 0, "failed": 0, "killed": 0, "interrupted": 0}
    best = None
    for trial in study.get_trials(deepcopy=False):
        outcome = trial.user_attrs.get("outcome")
        if trial.state.name == "RUNNING":
            counts["running"] += 1
        elif outcome in FINISHED_OUTCOMES:
            counts["finished"] += 1
        elif outcome in KILLED_OUTCOMES:
            counts["killed"] += 1
        elif interrupted(trial):
            counts["interrupted"] += 1
        elif trial.state.name != "WAITING" and outcome not in NOT_RUN_OUTCOMES:
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


def trial_seconds(study):
    """Median wall time of the finished trials in seconds, or None before one finished."""
    times = sorted((t.datetime_complete - t.datetime_start).total_seconds() for t in study.get_trials(deepcopy=False)
                   if t.state.name == "COMPLETE" and t.datetime_start and t.datetime_complete)
    return round(statistics.median(times), 3) if times else None


def counted_trials(study) -> int:
    """Trials that count against the run cap: every trial started, except interrupted ones."""
    return sum(1 for t in study.get_trials(deepcopy=False) if t.state.name != "WAITING" and not interrupted(t)
               and t.user_attrs.get("outcome") not in NOT_RUN_OUTCOMES)


def ran_parameter_sets(study, with_interrupted=True) -> set:
    """The parameter sets the sweep has run (or is running), as comparable keys."""
    return {parameter_key(t.params) for t in study.get_trials(deepcopy=False)
            if t.state.name == "RUNNING" or t.user_attrs.get("outcome") in RAN_OUTCOMES
            or (with_interrupted and interrupted(t))}


def parameter_key(params: dict) -> str:
    return json.dumps(params, sort_keys=True, default=str)


# The trial table's state for each outcome (a trial without one is running, or interrupted if failed).
TABLE_STATES = {"finished": "finished", "pruned": "pruned", "no_metric": "no_metric", "failed": "failed",
                "killed": "killed", "stopped": "stopped", "interrupted": "interrupted"}


def trial_rows(study) -> list:
    """The sweep's trials for the trial table, in the order they started; never-run ones left out."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        outcome = trial.user_attrs.get("outcome")
        if trial.state.name == "RUNNING":
            state = "running"
        elif interrupted(trial):
            state = "interrupted"
        else:
            state = TABLE_STATES.get(outcome)
        if state is None:
            continue  # waiting, or a duplicate the sweep never started
        value = trial.value if trial.state.name == "COMPLETE" else trial.user_attrs.get("last_metric")
        rows.append(row(trial.user_attrs.get("run_id", f"trial-{trial.number}"), state,
                        trial.user_attrs.get("config", {}), value, trial.datetime_start, trial.datetime_complete))
    return rows
