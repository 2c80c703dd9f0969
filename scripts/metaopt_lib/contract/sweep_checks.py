"""Semantic rules for W&B sweep configs that JSON Schema cannot express.

Written from W&B's own rules (wandb/sweeps: config/schema.json, config/cfg.py, params.py,
grid_search.py; the distribution table is sweep_distributions.py), so a config W&B refuses is
refused here on every backend: a distribution takes only its own keys, a range needs min < max and
integer bounds for int_uniform, probabilities are one per value and sum to 1, a grid enumerates only
constants, unweighted values and int_uniform or q_uniform ranges, and no local controller is asked for.
"""
from __future__ import annotations

import math

from .check_util import is_number as _is_number
from .issues import Issue
from .sweep_distributions import (ACCEPTED_KEYS, GRID_DISTRIBUTIONS, NESTED_KEY, RANGE_DISTRIBUTIONS, VALUE_BOUNDS,
                                  distributions_taking, implied_by, is_int, resolve_distribution)

GOAL_FOR_DIRECTION = {"maximize": "maximize", "minimize": "minimize"}
# numpy.isclose's default tolerance, which W&B uses for the sum of probabilities.
PROBABILITY_SUM_TOLERANCE = 1e-5 + 1e-8


def check_parameter_map(params, parts, label, method=None) -> list:
    """The semantic issues of a `parameters` block found at parts (a sweep's, or a campaign's search_space)."""
    if not isinstance(params, dict):
        return []
    out = []
    for name, spec, spec_parts in leaves(params, parts):
        if NESTED_KEY in spec:
            out += _check_nested(spec, spec_parts, label)
        else:
            out += _check_parameter(name, spec, spec_parts, label, method)
    return out


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
    controller = config.get("controller")
    if isinstance(controller, dict) and controller.get("type") == "local":
        issues.append(Issue(label, parts + ("controller", "type"), "sweep.local_controller",
                            "a local controller picks no run until someone runs `wandb controller` for the sweep, "
                            "which this skill never does", "no controller, or type cloud (W&B's server picks the runs)",
                            "remove controller"))
    if objective and isinstance(metric, dict):
        issues.extend(_check_objective(metric, objective, parts + ("metric",), label))
    return issues


def leaves(params, parts):
    """(name, spec, parts) of every parameter spec that is a mapping, nested blocks included (a nested
    block itself too, before its inner parameters)."""
    for name, spec in params.items():
        if not isinstance(spec, dict):
            continue
        yield name, spec, parts + (name,)
        if isinstance(spec.get(NESTED_KEY), dict):
            yield from leaves(spec[NESTED_KEY], parts + (name, NESTED_KEY))


def _check_nested(spec, parts, label):
    return [Issue(label, parts + (key,), "sweep.key_not_for_distribution",
                  f"key '{key}' sits beside a nested parameters block",
                  "a nested block holding only parameters (W&B refuses other keys beside it)",
                  f"move '{key}' into a parameter inside the block, or remove it")
            for key in spec if key != NESTED_KEY]


def _check_parameter(name, spec, parts, label, method):
    out = []
    dist = resolve_distribution(spec)
    lo, hi = spec.get("min"), spec.get("max")
    has_range = _is_number(lo) and _is_number(hi)
    if dist is None:
        out.append(Issue(label, parts, "sweep.parameter_spec_incomplete", f"parameter '{name}' has no search space",
                         "value, values, min and max, or a distribution",
                         "give a constant (value), choices (values) or a range (min and max)"))
    out += _foreign_keys(spec, dist, parts, label)
    if has_range and dist == "int_uniform" and not (is_int(lo) and is_int(hi)):
        out.append(Issue(label, parts, "sweep.int_uniform_needs_ints", "int_uniform with non-integer bounds",
                         "integer min and max", "use integer bounds or distribution uniform"))
    if has_range and dist in RANGE_DISTRIBUTIONS and not lo < hi:
        out.append(Issue(label, parts, "sweep.min_not_below_max", f"min {lo!r} is not below max {hi!r}",
                         "min < max", "swap or widen the bounds"))
    if dist in VALUE_BOUNDS and _is_number(lo) and lo <= 0:
        out.append(Issue(label, parts + ("min",), "sweep.log_values_min_positive",
                         f"{dist} needs a positive min, got {lo!r}", "min > 0 (raw values, e.g. 1.0e-5)",
                         "use a positive lower bound"))
    out.extend(_check_probabilities(spec, parts, label))
    if method == "grid":
        out.extend(_check_grid(name, spec, dist, parts, label))
    return out


def _foreign_keys(spec, dist, parts, label):
    """Keys the spec's distribution does not take (W&B closes every distribution to other keys)."""
    accepted = ACCEPTED_KEYS.get(dist)
    if accepted is None:
        return []  # no distribution, or one the schema already refuses
    out = []
    for key in spec:
        if key == "distribution" or key in accepted or key == NESTED_KEY:
            continue
        if dist == "categorical" and key == "probabilities":
            fix = "set distribution to categorical_w_probabilities, or leave distribution out"
        else:
            takers = distributions_taking(key)
            fix = f"remove '{key}'" + (f", or choose a distribution that takes it ({', '.join(takers)})"
                                       if takers and "distribution" in spec else "")
        out.append(Issue(label, parts + (key,), "sweep.key_not_for_distribution",
                         f"key '{key}' does not belong with {implied_by(spec)}",
                         f"only {', '.join(sorted(accepted | {'distribution'}))} (W&B refuses other keys)", fix))
    return out


def _check_probabilities(spec, parts, label):
    probs, values = spec.get("probabilities"), spec.get("values")
    if not isinstance(probs, list) or not isinstance(values, list):
        return []
    if len(probs) != len(values):
        return [Issue(label, parts + ("probabilities",), "sweep.probabilities_mismatch",
                      f"{len(probs)} probabilities for {len(values)} values", "one probability per value",
                      "give exactly one probability for each entry of values")]
    if all(_is_number(p) for p in probs) and abs(math.fsum(probs) - 1.0) > PROBABILITY_SUM_TOLERANCE:
        return [Issue(label, parts + ("probabilities",), "sweep.probabilities_mismatch",
                      f"probabilities sum to {math.fsum(probs):g}", "a sum of 1", "rescale the probabilities")]
    return []


def _check_grid(name, spec, dist, parts, label):
    if dist is None or dist in GRID_DISTRIBUTIONS or dist not in ACCEPTED_KEYS:
        return []
    if dist == "categorical_w_probabilities":
        return [Issue(label, parts + ("probabilities",), "sweep.grid_with_probabilities",
                      f"grid search runs every value of '{name}' once; probabilities cannot weigh them",
                      "values without probabilities in a grid sweep",
                      "remove probabilities, or use method random or bayes to draw values by weight")]
    return [Issue(label, parts, "sweep.grid_needs_discrete",
                  f"grid search cannot enumerate the {dist} range of '{name}'",
                  "value, values, or an int_uniform or q_uniform range for every parameter of a grid sweep",
                  "list the values to try, use integer bounds (int_uniform) or q_uniform with a step q, "
                  "or use method random or bayes")]


def _check_objective(metric, objective, parts, label):
    out = []
    want_name, direction = objective.get("metric"), objective.get("direction")
    if want_name is not None and metric.get("name") != want_name:
        out.append(Issue(label, parts + ("name",), "sweep.metric_name_mismatch",
                         f"metric {metric.get('name')!r} is not the campaign objective",
                         f"'{want_name}' (objective.metric)", f"set metric.name to '{want_name}'"))
    goal = GOAL_FOR_DIRECTION.get(direction)
    if goal is not None and metric.get("goal", "minimize") != goal:
        got = f"goal {metric['goal']!r}" if "goal" in metric else "no goal (W&B then minimizes)"
        out.append(Issue(label, parts + ("goal",), "sweep.goal_mismatch",
                         f"{got} contradicts objective direction {direction!r}",
                         f"'{goal}'", f"set metric.goal to '{goal}'"))
    return out


def check_sweep_document(doc, label, ctx) -> list:
    """Entry point for a standalone sweep config file."""
    return check_sweep_config(doc, (), label, ctx.objective)
