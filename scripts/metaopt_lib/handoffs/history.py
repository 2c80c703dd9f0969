"""The trial history a worker task carries: every trial of the recent sweeps (from the trial tables
poll_sweep writes), each earlier iteration's best run (also standing in for a recent sweep without
a table), bounded so a task stays small whatever the campaign's length."""
from __future__ import annotations

from ..contract.trial_ranking import ranked_indices

# The most recent sweeps whose whole trial table is read; older iterations add only their best run.
RECENT_SWEEPS = 5
MAX_ROWS = 200
BEST_ROWS = 100  # when capped: the best finished trials, the rest the latest ones


def trial_history(state, inputs, direction, only_current=False) -> dict:
    """The `history` of a worker task (worker-task.schema.json#/$defs/history). `only_current`: the
    current sweep's trials alone (the analysis of that sweep)."""
    rows, latest_space = [], None
    if not only_current:
        rows += [_best_row(record["iteration"], record["best_run"])
                 for record in inputs.history.records("iterations")[:-RECENT_SWEEPS] if record.get("best_run")]
    for iteration, identity, best_run in _sweeps(state, inputs.history, only_current):
        table = inputs.trial_table(identity)
        if table is None:
            rows += [_best_row(iteration, best_run)] if best_run else []
            continue
        rows += [dict(row, iteration=iteration) for row in table["trials"]]
        if table["space"] is not None:
            latest_space = {"iteration": iteration, **table["space"]}
    return {"trials": _capped(rows, direction), "trials_seen": len(rows), "latest_space": latest_space}


def _best_row(iteration, run) -> dict:
    return {"iteration": iteration, "run_id": run["run_id"], "state": "finished", "params": run["config"],
            "metric_value": run["metric_value"]}


def _sweeps(state, history, only_current):
    """(iteration, sweep identity, best run) of the sweeps whose tables are read."""
    current = state.get("current_sweep")
    now = [(current["iteration"], current["sweep_identity"], current["best_run"])] if current else []
    if only_current:
        return now
    sweeps = [(r["iteration"], r["sweep_identity"], r["best_run"])
              for r in history.tail("iterations", RECENT_SWEEPS)]
    return sweeps + [s for s in now if s[0] not in {iteration for iteration, _, _ in sweeps}]


def _capped(rows, direction):
    """At most MAX_ROWS rows in their original order: the BEST_ROWS best finished, then the latest."""
    if len(rows) <= MAX_ROWS:
        return rows
    keep = set(ranked_indices(rows, direction)[:BEST_ROWS])
    for index in range(len(rows) - 1, -1, -1):
        if len(keep) >= MAX_ROWS:
            break
        keep.add(index)
    return [rows[i] for i in sorted(keep)]
