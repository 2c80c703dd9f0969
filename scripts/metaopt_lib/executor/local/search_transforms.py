"""One W&B sweep parameter as one Optuna dimension, and the way back to the value W&B would hand the run.

Plain data and arithmetic, no Optuna import: search_space.py builds the Optuna objects from these.
The semantics mirror W&B's own sweeps library (wandb/sweeps: params.py `HyperParameter.ppf`,
config/schema.json for defaults and accepted keys, grid_search.py for grid order and duplicates).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from statistics import NormalDist

from ...contract.check_util import is_number
from ...contract.issues import Issue
from ...contract.sweep_distributions import ACCEPTED_KEYS, EXPONENT_BOUNDS, REQUIRED_KEYS, resolve_distribution
from .search_choices import (GRID_RANGES, MAX_GRID_RANGE_VALUES, cumulative_weights, grid_range_size,
                             grid_range_values, weighted_index)

# Normal-family parameters are searched over their CDF quantile; inv_cdf is infinite at 0 and 1.
QUANTILE_LOW = 1e-6
QUANTILE_HIGH = 1 - 1e-6
# Optuna samples integers through float arithmetic; beyond 2**53 not every integer is reachable.
MAX_EXACT_INT = 2 ** 53

REJECTED_DISTRIBUTIONS = frozenset({"beta", "q_beta"})
NUMBER_KEYS = ("min", "max", "mu", "sigma", "q", "a", "b")
POSITIVE_KEYS = frozenset({"sigma", "q", "a", "b"})
_PLAIN_CHOICE_TYPES = (type(None), bool, int, float, str)


@dataclass(frozen=True)
class Constant:
    """A parameter every run gets unchanged (`value`). Kept as JSON text: each run gets a fresh copy."""

    path: tuple
    value_json: str

    def value(self):
        return json.loads(self.value_json)


@dataclass(frozen=True)
class Dimension:
    """A searched parameter: the arguments of its Optuna distribution, and how a sampled x becomes the
    value W&B would give the run (`to_wandb`). A weighted choice is a float u in [0, 1] mapped through
    the cumulative weights (search_choices.py)."""

    path: tuple
    wandb_distribution: str
    space: str  # "int", "float" or "categorical"
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple = ()  # Optuna's choices: the values themselves, or their indices when by_index
    values_json: tuple = ()  # W&B's values as JSON text (categorical and weighted choices)
    by_index: bool = False
    quantile_of: str | None = None  # "normal" or "log_normal": x is a CDF quantile
    mu: float = 0.0
    sigma: float = 1.0
    q: int | float | None = None  # quantization step of the q_ distributions
    cumulative: tuple = ()  # weighted choice: cumulative weights, the last exactly 1.0

    @property
    def name(self) -> str:
        return ".".join(self.path)

    def to_wandb(self, x):
        if self.cumulative:
            return json.loads(self.values_json[weighted_index(self.cumulative, float(x))])
        if self.space == "categorical":
            return json.loads(self.values_json[x]) if self.by_index else x
        if self.space == "int":
            return int(x)
        value = float(x)
        if self.quantile_of:
            value = NormalDist(self.mu, self.sigma).inv_cdf(value)
            if self.quantile_of == "log_normal":
                value = math.exp(value)
        return value if self.q is None else quantize(value, self.q)


def quantize(value: float, q):
    """W&B's round(x / q) * q: ties to even (as numpy), an int when q is written as an integer."""
    return round(value / q) * q


def json_problem(value) -> str | None:
    """Why a value cannot reach the run as plain, finite JSON; None when it can."""
    if value is None or isinstance(value, (bool, int, str)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, list):
        return next(filter(None, map(json_problem, value)), None)
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return "a mapping key is not a string"
        return next(filter(None, map(json_problem, value.values())), None)
    return f"a {type(value).__name__} has no JSON form"


def grid_identity(value) -> str:
    """Values W&B's grid counts once: equal YAML dumps after an integral float becomes an int."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True)


def build_leaf(spec: dict, path: tuple, parts: tuple, label: str, grid: bool = False):
    """(Constant or Dimension, []) for one parameter spec, or (None, issues) when it cannot be mapped.
    In a grid sweep an int_uniform or q_uniform range becomes the list of values the grid runs."""
    dist = resolve_distribution(spec)
    if not isinstance(dist, str) or dist not in ACCEPTED_KEYS:
        return None, [_unsupported(label, parts, f"parameter '{path[-1]}' has no distribution the local backend "
                                   f"knows (got {dist!r})", "value, values, min and max, or a W&B distribution",
                                   "give a constant (value), choices (values) or a range (min and max)")]
    issues = _key_issues(spec, dist, parts, label) + _unmappable_issues(spec, dist, parts, label)
    if issues:
        return None, issues
    try:
        if dist == "constant":
            return _constant(spec, path, parts, label)
        if dist == "categorical":
            return _categorical(spec["values"], path, parts, label, dist)
        if dist == "categorical_w_probabilities":
            return _weighted(spec, path, parts, label)
        if grid and dist in GRID_RANGES:
            return _grid_range(spec, dist, path, parts, label)
        dim = _numeric(dist, spec, path)
    except (OverflowError, ValueError) as exc:
        return None, [_overflow(label, parts, path, dist, str(exc))]
    problem = _range_problem(dim)
    return (None, [_overflow(label, parts, path, dist, problem)]) if problem else (dim, [])


def _key_issues(spec, dist, parts, label) -> list:
    """Keys the distribution needs but lacks, numbers that are not numbers. (Keys a distribution does not
    take are the sweep checks' rule sweep.key_not_for_distribution, which plan_search applies first.)"""
    accepted, required = ACCEPTED_KEYS[dist], REQUIRED_KEYS.get(dist, ())
    issues = [_unsupported(label, parts, f"distribution {dist} needs {' and '.join(required)}, and '{key}' is missing",
                            f"{' and '.join(required)} in the spec", f"add {key}")
               for key in required if key not in spec]
    for key in NUMBER_KEYS:
        if key not in spec or key not in accepted:
            continue
        positive = key in POSITIVE_KEYS
        if not (is_number(spec[key]) and (spec[key] > 0 or not positive)):
            wanted = "a finite number" + (" above 0" if positive else "")
            issues.append(_unsupported(label, parts + (key,), f"{key} must be {wanted}, got {spec[key]!r}", wanted,
                                       f"write {key} as a plain number such as 1.0"))
    return issues


def _unmappable_issues(spec, dist, parts, label) -> list:
    """What W&B can sample but the local backend cannot reproduce: beta laws; and grid ranges longer
    than a values list may be."""
    issues = []
    if dist in REJECTED_DISTRIBUTIONS:
        issues.append(_unsupported(
            label, parts + ("distribution",),
            f"distribution {dist} cannot be reproduced by the local backend: the Python standard library has "
            "no inverse beta CDF to turn a sampled quantile into a beta-distributed value",
            "a distribution listed in the local backend's mapping table",
            "use uniform with min 0.0 and max 1.0" + (" (q_uniform to keep q)" if dist == "q_beta" else "")
            + ", or run this sweep with compute backend skypilot, where W&B samples beta itself"))
    return issues


def _grid_range(spec, dist, path, parts, label):
    """An int_uniform or q_uniform range of a grid sweep: the grid's values as a categorical dimension."""
    size = grid_range_size(dist, spec)
    if size > MAX_GRID_RANGE_VALUES:
        return None, [_unsupported(label, parts, f"the grid takes {size} values from the {dist} range of "
                                   f"'{path[-1]}'", f"at most {MAX_GRID_RANGE_VALUES} values per parameter, as "
                                   "for a values list", "narrow the range" + (" or enlarge q" if dist == "q_uniform"
                                   else "") + ", or use method random or bayes")]
    dim, _ = _categorical(grid_range_values(dist, spec), path, parts, label, dist)
    return dim, []


def _weighted(spec, path, parts, label):
    """values with probabilities: a float u in [0, 1] mapped through the cumulative weights."""
    values, probabilities = spec["values"], spec["probabilities"]
    base, issues = _categorical(values, path, parts, label, "categorical_w_probabilities")
    if issues:
        return None, issues
    if len(probabilities) != len(values) or not all(is_number(p) and p >= 0 for p in probabilities) \
            or not math.fsum(probabilities) > 0:
        return None, [_unsupported(label, parts + ("probabilities",), "probabilities are not one non-negative "
                                   "weight per value with a positive sum", "one weight per value, summing to 1",
                                   "give one probability for each entry of values")]
    return Dimension(path, "categorical_w_probabilities", "float", 0.0, 1.0, values_json=base.values_json,
                     cumulative=cumulative_weights(probabilities)), []


def _constant(spec, path, parts, label):
    problem = json_problem(spec["value"])
    if problem:
        return None, [_not_json(label, parts + ("value",), problem)]
    return Constant(path, json.dumps(spec["value"])), []


def _categorical(values, path, parts, label, dist):
    if not isinstance(values, list) or not values:
        return None, [_unsupported(label, parts + ("values",), "values is not a non-empty list",
                                   "a list of choices", "list the choices, e.g. [16, 32, 64]")]
    issues = [_not_json(label, parts + ("values", i), problem)
              for i, problem in enumerate(map(json_problem, values)) if problem]
    if issues:
        return None, issues
    # Lists and dicts are not valid Optuna choices, and Optuna finds a choice by ==, so 1, 1.0 and true
    # would collapse into one: both cases search over indices and map back to W&B's value.
    plain = all(type(v) in _PLAIN_CHOICE_TYPES for v in values) and \
        len({(type(v), v) for v in values}) == len(set(values))
    choices = tuple(values) if plain else tuple(range(len(values)))
    return Dimension(path, dist, "categorical", choices=choices,
                     values_json=tuple(json.dumps(v) for v in values), by_index=not plain), []


def _numeric(dist, spec, path) -> Dimension:
    base = dist.removeprefix("q_")
    q = spec.get("q", 1.0) if dist.startswith("q_") else None  # W&B's default q is the float 1.0
    if base in ("normal", "log_normal"):
        return Dimension(path, dist, "float", QUANTILE_LOW, QUANTILE_HIGH, quantile_of=base,
                         mu=float(spec.get("mu", 0.0)), sigma=float(spec.get("sigma", 1.0)), q=q)
    lo, hi = spec["min"], spec["max"]
    if dist == "int_uniform":
        return Dimension(path, dist, "int", lo, hi)
    if base == "uniform":
        return Dimension(path, dist, "float", float(lo), float(hi), q=q)
    if base == "log_uniform":
        return Dimension(path, dist, "float", math.exp(lo), math.exp(hi), log=True, q=q)
    if dist == "inv_log_uniform":  # W&B returns exp(-u), u uniform on [min, max]
        return Dimension(path, dist, "float", math.exp(-hi), math.exp(-lo), log=True)
    return Dimension(path, dist, "float", float(lo), float(hi), log=True, q=q)  # *_log_uniform_values


def _range_problem(dim: Dimension) -> str | None:
    """Why the values at the ends of a numeric dimension would not be finite JSON numbers, or None.
    Every transform is non-decreasing, so the two ends bound every value a run can get."""
    if dim.space == "int":
        if max(abs(dim.low), abs(dim.high)) > MAX_EXACT_INT:
            return f"integer bounds beyond ±2**53 ({dim.low}, {dim.high})"
        return None
    if not (math.isfinite(dim.low) and math.isfinite(dim.high)):
        return f"the range [{dim.low}, {dim.high}] is not finite"
    if dim.log and dim.low <= 0:
        return f"the lower end underflows to {dim.low}"
    for end in (dim.low, dim.high):
        try:
            value = dim.to_wandb(end)
        except (OverflowError, ValueError, ZeroDivisionError) as exc:
            return f"the value at {end} cannot be computed ({exc})"
        if isinstance(value, float) and not math.isfinite(value):
            return f"the value at {end} is {value}"
    return None


def _unsupported(label, parts, problem, expected, fix) -> Issue:
    return Issue(label, parts, "local.search_space_unsupported", problem, expected, fix)


def _overflow(label, parts, path, dist, detail) -> Issue:
    fix = "narrow the range" + (" or enlarge q" if dist.startswith("q_") else "")
    if dist in EXPONENT_BOUNDS:
        fix = f"min and max of {dist} are natural-log exponents: use {dist}_values with raw bounds, or {fix}"
    return _unsupported(label, parts, f"the values of '{path[-1]}' ({dist}) leave 64-bit floating point: {detail}",
                        "a range whose values are finite floats", fix)


def _not_json(label, parts, problem) -> Issue:
    return _unsupported(label, parts, f"the value cannot reach the run as JSON: {problem}",
                        "JSON values (finite numbers, strings, booleans, null, lists, mappings with string keys)",
                        "replace it with a plain JSON value")
