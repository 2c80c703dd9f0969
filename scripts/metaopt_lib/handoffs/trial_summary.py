"""The compact account of one sweep's trials that an analysis task carries, so that its learnings can
cite evidence: the best and the worst finished trials, how many trials ended in each state, and for
each parameter the range it was searched in and the range (or values) of the best quarter."""
from __future__ import annotations

import math

from ..contract.trial_ranking import ranked

EXTREMES = 5
TOP_FRACTION = 0.25
MAX_CATEGORIES = 20


def summarize_trials(rows, direction) -> dict:
    """worker-task.schema.json#/$defs/trialSummary of a sweep's trial rows."""
    ordered = ranked(rows, direction)  # the finished trials with a metric, best first
    top = ordered[:max(1, math.ceil(TOP_FRACTION * len(ordered)))] if ordered else []
    states = {}
    for row in rows:
        states[row["state"]] = states.get(row["state"], 0) + 1
    names = sorted({name for row in ordered for name in row["params"]})
    return {"finished": len(ordered), "states": dict(sorted(states.items())),
            "best": [_brief(r) for r in ordered[:EXTREMES]],
            "worst": [_brief(r) for r in ordered[::-1][:EXTREMES]] if len(ordered) > EXTREMES else [],
            "parameters": {name: _parameter(name, ordered, top) for name in names}}


def _brief(row) -> dict:
    return {"run_id": row["run_id"], "metric_value": row["metric_value"], "params": row["params"]}


def _parameter(name, finished, top) -> dict:
    values = [r["params"][name] for r in finished if name in r["params"]]
    best = [r["params"][name] for r in top if name in r["params"]]
    if values and all(_number(v) for v in values):
        return {"kind": "numeric", "searched": [min(values), max(values)],
                "best_quarter": [min(best), max(best)] if best else None}
    counts = {}
    for value in values:
        key = _label(value)
        counts[key] = counts.get(key, 0) + 1
    return {"kind": "categorical",
            "values": [{"value": key, "trials": count, "in_best_quarter": sum(_label(v) == key for v in best)}
                       for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_CATEGORIES]]}


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _label(value) -> str:
    return value if isinstance(value, str) else str(value)
