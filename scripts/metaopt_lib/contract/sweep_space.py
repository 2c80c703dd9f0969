"""The canonical form of a W&B search space: what a sweep explores, whatever way it was written.

Two proposals with the same canonical space explore the same thing and are one proposal: the
distribution W&B would infer is written out, categorical values are put in one order, and what does
not change the space (metric, run cap, name, program) is left out. Numbers compare by value (the
canonical JSON writes 1.0 as 1), after the distribution was inferred from their types.

Also one representative point of a space (what the smoke test runs) and which parameters it varies.
"""
from __future__ import annotations

import math

from .campaign import canonical_json, sha256_of
from .sweep_distributions import resolve_distribution

SPACE_KEYS = ("method", "parameters", "early_terminate")


def canonical_space(sweep_config: dict) -> dict:
    return {key: (_parameters(sweep_config[key]) if key == "parameters" else sweep_config[key])
            for key in SPACE_KEYS if key in sweep_config}


def space_hash(sweep_config: dict) -> str:
    """sha256 of the canonical space: equal for proposals that explore the same space."""
    return sha256_of(canonical_space(sweep_config))


def _parameters(parameters) -> dict:
    if not isinstance(parameters, dict):
        return parameters
    return {name: _parameter(spec) for name, spec in parameters.items()}


def _parameter(spec):
    if not isinstance(spec, dict):
        return spec
    if "parameters" in spec:
        return {**spec, "parameters": _parameters(spec["parameters"])}
    out = dict(spec)
    out.setdefault("distribution", resolve_distribution(spec))
    if out["distribution"] == "categorical" and isinstance(spec.get("values"), list):
        out["values"] = sorted(spec["values"], key=canonical_json)
    return out


def representative_point(parameters: dict) -> dict:
    """One point inside the space, as W&B would hand it to a run (nested blocks nested): constants as
    they are, the first categorical value (the first most probable one when weighted), and the middle of every range (geometric for log scales,
    quantized where the distribution is). The smoke test runs the program with it."""
    point = {}
    for name, spec in parameters.items():
        if isinstance(spec, dict) and "parameters" in spec:
            point[name] = representative_point(spec["parameters"])
        elif isinstance(spec, dict):
            point[name] = _middle(spec)
    return point


def swept_keys(parameters: dict) -> list:
    """Top-level parameter names whose value varies between runs (a nested block if any leaf does)."""
    def varies(spec):
        if not isinstance(spec, dict):
            return False
        if "parameters" in spec:
            return any(varies(s) for s in spec["parameters"].values())
        kind = resolve_distribution(spec)
        return kind != "constant" and not (kind in ("categorical", "categorical_w_probabilities")
                                           and len(_drawn_values(spec)) < 2)
    return [name for name, spec in parameters.items() if varies(spec)]


def _drawn_values(spec) -> list:
    """The values a run can get: all of them, or those of positive probability when weighted."""
    values, weights = spec.get("values") or [], spec.get("probabilities")
    if isinstance(weights, list) and len(weights) == len(values):
        return [v for v, w in zip(values, weights) if not (isinstance(w, (int, float)) and w <= 0)]
    return values


def _middle(spec):
    kind = resolve_distribution(spec)
    if kind == "constant":
        return spec.get("value")
    if kind == "categorical":
        return (spec.get("values") or [None])[0]
    if kind == "categorical_w_probabilities":
        weights = spec.get("probabilities") or []
        return spec["values"][weights.index(max(weights))] if weights else None
    low, high = spec.get("min"), spec.get("max")
    if kind == "int_uniform":
        return (low + high) // 2
    if kind in ("uniform", "q_uniform"):
        value = (low + high) / 2
    elif kind in ("log_uniform", "q_log_uniform"):
        value = math.exp((low + high) / 2)
    elif kind == "inv_log_uniform":
        value = math.exp(-(low + high) / 2)
    elif kind in ("log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"):
        value = math.sqrt(low * high)
    elif kind in ("normal", "q_normal"):
        value = spec.get("mu", 0.0)
    elif kind in ("log_normal", "q_log_normal"):
        value = math.exp(spec.get("mu", 0.0))
    elif kind in ("beta", "q_beta"):
        a, b = spec.get("a", 1.0), spec.get("b", 1.0)
        value = a / (a + b)
    else:
        return low
    if kind.startswith("q_"):
        q = spec.get("q", 1)
        value = round(value / q) * q
        if kind in ("q_uniform", "q_log_uniform_values"):  # bounds in the values' own scale
            value = min(max(value, low), high)
        if isinstance(q, int) and float(value).is_integer():
            return int(value)
    return value
