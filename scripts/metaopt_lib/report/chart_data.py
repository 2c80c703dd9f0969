"""What the report's charts plot, as plain data: the trials with a metric numbered across the
campaign, the best so far, the adopted baseline's steps, the iteration boundaries, the best
iteration's slices and the dimensions parameter importance is estimated over.

A trial's number is its 1-based place among all the campaign's trials (with or without a metric).
Every trial with a finite metric value is a point; the best so far and the best trial count only
finished trials (a pruned or stopped trial's value is where it was cut, not where it would end)."""
from __future__ import annotations

import json
import math
from collections import namedtuple

from ..heuristic.space import Dim, read_dim, read_dims

Point = namedtuple("Point", "x value finished")
# kind: "cat" (x is the index into categories) or "num" (x is the value; log: a log-scaled axis)
Slice = namedtuple("Slice", "name kind log categories points best")


def metric_of(trial: dict) -> float | None:
    """The trial's metric as a finite float, or None."""
    value = trial.get("metric_value")
    if _number(value):
        return float(value)
    return None


def points(trials: list) -> list:
    """A Point for every trial with a metric, x its trial number in the campaign."""
    return [Point(x, metric_of(t), t.get("state") == "finished")
            for x, t in enumerate(trials, start=1) if metric_of(t) is not None]


def better(a: float, b: float, direction: str) -> bool:
    return a > b if direction == "maximize" else a < b


def best_so_far(trials: list, direction: str) -> list:
    """(x, best finished value up to and including trial x) at each finished trial with a metric."""
    out, best = [], None
    for point in points(trials):
        if point.finished:
            if best is None or better(point.value, best, direction):
                best = point.value
            out.append((point.x, best))
    return out


def best_trial(trials: list, direction: str) -> tuple | None:
    """(trial number, trial) of the best finished trial (ties: the earlier one), or None."""
    best = None
    for x, trial in enumerate(trials, start=1):
        value = metric_of(trial)
        if trial.get("state") == "finished" and value is not None:
            if best is None or better(value, metric_of(best[1]), direction):
                best = (x, trial)
    return best


def boundaries(trials: list) -> list:
    """(x, iteration) where an iteration's trials start: half a trial before its first one."""
    out, previous = [], object()
    for x, trial in enumerate(trials, start=1):
        if trial.get("iteration") != previous:
            previous = trial.get("iteration")
            out.append((x - 0.5, previous))
    return out


def iteration_ends(trials: list, iterations: list) -> dict:
    """iteration -> x half a trial after its last trial (after the earlier iterations' trials when
    it has none of its own)."""
    last = {}
    for x, trial in enumerate(trials, start=1):
        last[trial.get("iteration")] = x
    ends, reached = {}, 0
    for record in sorted(iterations, key=lambda r: r["iteration"]):
        mine = last.get(record["iteration"])
        reached = max(reached, mine if mine is not None else 0)
        ends[record["iteration"]] = reached + 0.5
    return ends


def baseline_steps(trials: list, iterations: list) -> list:
    """(x, baseline) at each iteration's end where a baseline was adopted: the line holds each
    value until the next iteration's end (steps-post), so it can change only there."""
    ends = iteration_ends(trials, iterations)
    return [(ends[r["iteration"]], float(r["baseline_after"]))
            for r in sorted(iterations, key=lambda r: r["iteration"]) if _number(r.get("baseline_after"))]


def swept(space: dict | None, trials: list) -> list:
    """(name, kind, log, categories) of each parameter an iteration sweeps, in the space's order;
    without a space, the parameters whose values differ between its trials (by name)."""
    if space is None:
        names = sorted({n for t in trials for n in (t.get("params") or {})})
        out = []
        for name in names:
            values = _distinct([t["params"][name] for t in trials if name in (t.get("params") or {})])
            if len(values) > 1:
                numeric = all(_number(v) for v in values)
                out.append((name, "num", False, ()) if numeric else (name, "cat", False, tuple(values)))
        return out
    out = []
    for name, spec in (space.get("parameters") or {}).items():
        dim = read_dim(name, spec)
        if dim is not None:
            out.append((name, "cat", False, dim.values) if dim.kind == "cat" else (name, "num", dim.log, ()))
        elif isinstance(spec, dict) and "distribution" in spec and "value" not in spec and "parameters" not in spec \
                and not str(spec["distribution"]).startswith("categorical"):
            out.append((name, "num", "log" in str(spec["distribution"]), ()))
    return out


def slices(trials: list, iteration, space: dict | None, direction: str) -> list:
    """One Slice per swept parameter of `iteration`: a Point (x = its value) per trial with a metric
    and a usable value of that parameter; best: (x, value) of the iteration's best trial, or None."""
    mine = [t for t in trials if t.get("iteration") == iteration]
    found = best_trial(mine, direction)
    out = []
    for name, kind, log, categories in swept(space, mine):
        categories = list(categories)
        keys = [_key(v) for v in categories]
        plotted, best = [], None
        for trial in mine:
            params, value = trial.get("params") or {}, metric_of(trial)
            if value is None or name not in params:
                continue
            raw = params[name]
            if kind == "cat":
                if _key(raw) not in keys:
                    keys.append(_key(raw))
                    categories.append(raw)
                x = keys.index(_key(raw))
            elif _number(raw) and (not log or raw > 0):
                x = float(raw)
            else:
                continue
            plotted.append(Point(x, value, trial.get("state") == "finished"))
            if found is not None and trial is found[1]:
                best = (x, value)
        out.append(Slice(name, kind, log, tuple(categories), plotted, best))
    return out


def importance_dims(iterations: list) -> dict:
    """name -> Dim covering every iteration's range of that parameter (numeric: the widest bounds,
    log only when every iteration sampled it so; categorical: the union of the values). A parameter
    swept as a number in one iteration and as categories in another is left out."""
    merged, dropped = {}, set()
    for record in sorted(iterations, key=lambda r: r["iteration"]):
        space = record.get("space") or {}
        for name, dim in read_dims(space.get("parameters") or {}).items():
            if name in dropped:
                continue
            have = merged.get(name)
            if have is None:
                merged[name] = Dim(name, dim.kind, dim.lo, dim.hi, log=dim.log, values=dim.values)
            elif have.numeric != dim.numeric:
                dropped.add(name)
                del merged[name]
            elif dim.numeric:
                kind = "int" if have.kind == dim.kind == "int" else "float"
                merged[name] = Dim(name, kind, min(have.lo, dim.lo), max(have.hi, dim.hi), log=have.log and dim.log)
            else:
                values = list(have.values) + [v for v in dim.values if v not in have.values]
                merged[name] = Dim(name, "cat", values=tuple(values))
    return merged


def _distinct(values: list) -> list:
    seen, out = set(), []
    for value in values:
        if _key(value) not in seen:
            seen.add(_key(value))
            out.append(value)
    return out


def _key(value) -> str:
    """A comparable key of a parameter value (1 and 1.0 alike, True and 1 apart; dicts and lists work)."""
    kind = "number" if _number(value) else type(value).__name__
    return json.dumps([kind, float(value) if kind == "number" else value], sort_keys=True, default=str)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
