"""The one order of trials by the objective, shared by the history a task carries, the heuristic
workers, the analysis task's trial summary and the reports: finished trials with a metric value,
best first by the campaign's direction, ties to the earlier trial. A trial that was pruned, stopped
or killed is not ranked even when it logged a value: it did not run to its end."""
from __future__ import annotations


def ranked_indices(rows, direction: str) -> list:
    """Indices into rows of the finished trials with a metric, best first (ties: the earlier)."""
    sign = -1 if direction == "maximize" else 1
    scored = [i for i, row in enumerate(rows) if row["state"] == "finished" and row["metric_value"] is not None]
    return sorted(scored, key=lambda i: (sign * rows[i]["metric_value"], i))


def ranked(rows, direction: str) -> list:
    """The finished trials with a metric, best first (ties: the earlier)."""
    return [rows[i] for i in ranked_indices(rows, direction)]
