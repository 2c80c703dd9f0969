"""The discrete side of the local backend's search: weighted choices, and the values a grid takes from a range.

Weighted choices (`values` with `probabilities`, distribution categorical_w_probabilities): W&B draws
a uniform u in [0, 1) and hands the run the first value whose cumulative weight exceeds u (params.py:
values[argmin(u >= cumsum(probabilities))]). The local backend asks Optuna for that u (a
FloatDistribution over [0, 1]) and maps it the same way, so a random sweep draws each value with
exactly its probability, a value of weight 0 never, and bayes (TPE) models u like any float.

Grid ranges: a grid runs every integer of an int_uniform range, and every step of a q_uniform range
as W&B's grid_search.py computes it, numpy.arange(min, max, q): max excluded, the values as numpy's
float arithmetic gives them (min + i * ((min + q) - min)), not rounded to multiples of q.

Plain arithmetic, no numpy or Optuna import.
"""
from __future__ import annotations

import bisect
import math

from ...contract.sweep_distributions import is_int

# A grid axis from a range holds at most as many values as a `values` list may (the sweep-config schema).
MAX_GRID_RANGE_VALUES = 1000
GRID_RANGES = frozenset({"int_uniform", "q_uniform"})


def cumulative_weights(probabilities) -> tuple:
    """The cumulative weights, scaled so the last is exactly 1.0 (W&B accepts sums within 1e-5 of 1)."""
    total = math.fsum(probabilities)
    return tuple(math.fsum(probabilities[:i + 1]) / total for i in range(len(probabilities)))


def weighted_index(cumulative: tuple, u: float) -> int:
    """The index of the value drawn at u in [0, 1]: the first whose cumulative weight exceeds u. At
    u = 1.0 (which Optuna's TPE may return, a uniform draw never does) the last value with a weight."""
    index = bisect.bisect_right(cumulative, u)
    if index < len(cumulative):
        return index
    return max(i for i, c in enumerate(cumulative) if c > (cumulative[i - 1] if i else 0.0))


def grid_range_size(dist: str, spec: dict) -> int:
    """How many values the grid takes from an int_uniform or q_uniform range (numpy.arange's length)."""
    low, high = spec["min"], spec["max"]
    if dist == "int_uniform":
        return high - low + 1
    return max(0, math.ceil((high - low) / spec.get("q", 1.0)))


def grid_range_values(dist: str, spec: dict) -> list:
    """Every value the grid takes from the range, in W&B's order. q defaults to the float 1.0, as in W&B."""
    low, high = spec["min"], spec["max"]
    if dist == "int_uniform":
        return list(range(low, high + 1))
    q, size = spec.get("q", 1.0), grid_range_size(dist, spec)
    if is_int(low) and is_int(high) and is_int(q):
        return [low + i * q for i in range(size)]
    start = float(low)
    delta = (start + float(q)) - start  # numpy fills start + i * (second - first)
    return [start + i * delta for i in range(size)]
