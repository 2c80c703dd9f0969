"""Semantic rules for W&B sweep configs that JSON Schema cannot express."""
from __future__ import annotations

import math

from .check_util import is_number as _is_number
from .issues import Issue

RANGE_DISTRIBUTIONS = frozenset({"int_uniform", "uniform", "q_uniform", "log_uniform", "log_uniform_values",
                                 "inv_log_uniform", "inv_log_uniform_values", "q_log_uniform",
                                 "q_log_uniform_values"})
VALUE_BOUND_DISTRIBUTIONS = frozenset({"log_uniform_values", "inv_log_uniform_values", "q_log_uniform_values"})
DISCRETE_DISTRIBUTIONS = frozenset({"constant", "categorical"})
GOAL_FOR_DIRECTION = {"maximize": "maximize", "minimize": "minimize"}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_parameter_map(params, parts, label, method=None) -> list:
    """The semantic issues of a `parameters` block found at parts (a sweep's, or a campaign's search_space)."""
    if not isinstance(params, dict):
        return []
    return [issue for name, spec, spec_parts in _leaves(params, parts)
            for issue in _check_parameter(name, spec, spec_parts, label, method)]


def check_sweep_config(config, parts, label, objective=None) -> list:
    """All semantic issues of one sweep config found at parts; objective adds metric/goal checks."""
    if not isinstance(config, dict):
        return []
    issues = check_parameter_map(config.get("parameters"), parts + ("parameters",), label, config.get("method"))
    metric = config.get("metric")
    if "early_terminate" in config and not isinstance(metric, dict):
        issues.append(Issue(label, parts + ("metric",), "sweep.hyperband_needs_metric",
                            "early_terminate is set but the sweep has no metric",
                            "a metric for hyperband to compare runs", "add metric with the objective's name and goal"))
    if objective and isinstance(metric, dict):
        issues.extend(_check_objective(metric, objective, parts + ("metric",), label))
    return issues


def _leaves(params, parts):
    for name, spec in params.items():
        if not isinstance(spec, dict):
            continue
        if isinstance(spec.get("parameters"), dict):
            yield from _leaves(spec["parameters"], parts + (name, "parameters"))
        else:
            yield name, spec, parts + (name,)


def _check_parameter(name, spec, parts, label, method):
    out = []
    dist = spec.get("distribution")
    lo, hi = spec.get("min"), spec.get("max")
    has_range = _is_number(lo) and _is_number(hi)
    if not any(k in spec for k in ("value", "values", "min", "distribution", "parameters")):
        out.append(Issue(label, parts, "sweep.parameter_spec_incomplete", f"parameter '{name}' has no search space",
                         "value, values, min and max, or a distribution",
                         "give a constant (value), choices (values) or a range (min and max)"))
    if has_range and dist is None and _is_int(lo) != _is_int(hi):
        out.append(Issue(label, parts, "sweep.mixed_int_float_bounds",
                         f"min {lo!r} and max {hi!r} mix an integer and a float",
                         "both integers (int_uniform) or both floats (uniform)",
                         f"write both as floats (e.g. {float(lo)} and {float(hi)}) or both as integers"))
    if has_range and dist == "int_uniform" and not (_is_int(lo) and _is_int(hi)):
        out.append(Issue(label, parts, "sweep.int_uniform_needs_ints", "int_uniform with non-integer bounds",
                         "integer min and max", "use integer bounds or distribution uniform"))
    if has_range and dist in (None, *RANGE_DISTRIBUTIONS) and not lo < hi:
        out.append(Issue(label, parts, "sweep.min_not_below_max", f"min {lo!r} is not below max {hi!r}",
                         "min < max", "swap or widen the bounds"))
    if dist in VALUE_BOUND_DISTRIBUTIONS and _is_number(lo) and lo <= 0:
        out.append(Issue(label, parts + ("min",), "sweep.log_values_min_positive",
                         f"{dist} needs a positive min, got {lo!r}", "min > 0 (raw values, e.g. 1.0e-5)",
                         "use a positive lower bound"))
    out.extend(_check_probabilities(spec, parts, label))
    if method == "grid" and (dist not in (None, *DISCRETE_DISTRIBUTIONS) or (dist is None and "min" in spec)):
        out.append(Issue(label, parts, "sweep.grid_needs_discrete",
                         f"grid search cannot enumerate the range of '{name}'",
                         "value or values for every parameter of a grid sweep",
                         "list the values to try, or use method random or bayes"))
    return out


def _check_probabilities(spec, parts, label):
    probs, values = spec.get("probabilities"), spec.get("values")
    if not isinstance(probs, list) or not isinstance(values, list):
        return []
    if len(probs) != len(values):
        return [Issue(label, parts + ("probabilities",), "sweep.probabilities_mismatch",
                      f"{len(probs)} probabilities for {len(values)} values", "one probability per value",
                      "give exactly one probability for each entry of values")]
    if all(_is_number(p) for p in probs) and not math.isclose(sum(probs), 1.0, abs_tol=1e-6):
        return [Issue(label, parts + ("probabilities",), "sweep.probabilities_mismatch",
                      f"probabilities sum to {sum(probs):g}", "a sum of 1", "rescale the probabilities")]
    return []


def _check_objective(metric, objective, parts, label):
    out = []
    want_name, direction = objective.get("metric"), objective.get("direction")
    if want_name is not None and metric.get("name") != want_name:
        out.append(Issue(label, parts + ("name",), "sweep.metric_name_mismatch",
                         f"metric {metric.get('name')!r} is not the campaign objective",
                         f"'{want_name}' (objective.metric)", f"set metric.name to '{want_name}'"))
    goal = GOAL_FOR_DIRECTION.get(direction)
    if goal is not None and metric.get("goal") != goal:
        out.append(Issue(label, parts + ("goal",), "sweep.goal_mismatch",
                         f"goal {metric.get('goal')!r} contradicts objective direction {direction!r}",
                         f"'{goal}'", f"set metric.goal to '{goal}'"))
    return out


def check_sweep_document(doc, label, ctx) -> list:
    """Entry point for a standalone sweep config file."""
    return check_sweep_config(doc, (), label, ctx.objective)
