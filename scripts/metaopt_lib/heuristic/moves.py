"""The reshaping moves of the heuristic ideation worker, each a pure function of a reference space
and the evidence: narrow around the best trials, widen a bound the best trial sits at, fix the
dimensions that do not matter."""
from __future__ import annotations

import math

from .evidence import Evidence
from .space import Dim

NARROW_MARGIN = 0.25       # of the best trials' spread, on each side
MIN_WIDTH = 0.1            # a narrowed dimension keeps at least this share of its reference width
MAX_LOG_EXTENSION = math.log(10.0)  # a log bound moves by at most a decade at once
IMPORTANCE_FLOOR = 0.05    # a dimension below this share of the importance is fixed by restructure


def narrowed(dim: Dim, evidence: Evidence, margin: float = NARROW_MARGIN) -> Dim:
    """The dimension around the values of the best trials (inside its reference bounds)."""
    values = [row["params"].get(dim.name) for row in evidence.top()]
    values = [v for v in values if dim.contains(v)]
    if not values:
        return dim
    if not dim.numeric:
        kept = [v for v in dim.values if v in values]
        if len(kept) < 2:  # keep a choice: the runner-up value by its best trial
            for row in evidence.ranked:
                value = row["params"].get(dim.name)
                if value not in kept and dim.contains(value):
                    kept.append(value)
                    break
        kept = [v for v in dim.values if v in kept]
        return Dim(dim.name, "cat", values=tuple(kept)) if len(kept) >= 2 else dim
    units = [dim.unit(v) for v in values if not (dim.log and v <= 0)]
    low, high = min(units), max(units)
    pad = max(margin * (high - low), MIN_WIDTH * dim.span / 2)
    ulo, uhi = max(dim.unit(dim.lo), low - pad), min(dim.unit(dim.hi), high + pad)
    return dim.with_unit_bounds(ulo, uhi)


def widened(dim: Dim, side: str, fraction: float = 1.0) -> Dim:
    """The dimension with one bound ("lo" or "hi") moved outward by `fraction` of its width (log
    bounds by at most a decade). A non-negative range stays non-negative, and a float range
    inside [0, 1] is taken as a fraction and stays below 1."""
    step = fraction * dim.span
    if dim.log:
        step = min(step, MAX_LOG_EXTENSION)
    ulo, uhi = dim.unit(dim.lo), dim.unit(dim.hi)
    if side == "lo":
        ulo -= step
        if not dim.log and dim.lo >= 0:
            ulo = max(ulo, dim.lo / 2 if dim.lo > 0 else 0.0)
            if dim.kind == "int" and dim.lo >= 1:
                ulo = max(ulo, 1.0)
    else:
        uhi += step
        if not dim.log and dim.kind == "float" and 0 <= dim.lo and dim.hi <= 1:
            uhi = min(uhi, (dim.hi + 1) / 2)
    out = dim.with_unit_bounds(ulo, uhi)
    moved = out.lo < dim.lo if side == "lo" else out.hi > dim.hi
    return out if moved else dim


def bounds_to_widen(dims: dict, evidence: Evidence) -> dict:
    """name -> side for each numeric dimension whose best value sits at a bound, leaving out the
    ones the importance evaluator finds do not matter (when there are enough trials to tell)."""
    importance = evidence.importance(dims) or {}
    sides = {}
    for name, dim in sorted(dims.items()):
        side = evidence.at_bound(dim)
        if side is not None and widened(dim, side) != dim and importance.get(name, 1.0) >= IMPORTANCE_FLOOR:
            sides[name] = side
    return sides


def unimportant(dims: dict, importance: dict | None) -> list:
    """Dimensions to fix: below the importance floor, keeping at least the most important one."""
    if not importance:
        return []
    ranked = sorted(dims, key=lambda n: (-importance.get(n, 0.0), n))
    return [n for n in ranked[1:] if importance.get(n, 0.0) < IMPORTANCE_FLOOR]


def describe(dim: Dim) -> str:
    return f"{dim.name} in {extent(dim)}"


def extent(dim: Dim) -> str:
    if not dim.numeric:
        return "{" + ", ".join(str(v) for v in dim.values) + "}"
    return f"[{short(dim.lo)}, {short(dim.hi)}]"


def short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
