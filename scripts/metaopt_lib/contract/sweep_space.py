"""The canonical form of a W&B search space: what a sweep explores, whatever way it was written.

Two proposals with the same canonical space explore the same thing and are one proposal: the
distribution W&B would infer is written out, categorical values are put in one order, and what does
not change the space (metric, run cap, name, program) is left out. Numbers compare by value (the
canonical JSON writes 1.0 as 1), after the distribution was inferred from their types.
"""
from __future__ import annotations

from .campaign import canonical_json, sha256_of

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
    out.setdefault("distribution", _inferred(spec))
    if out["distribution"] == "categorical" and isinstance(spec.get("values"), list) and "probabilities" not in spec:
        out["values"] = sorted(spec["values"], key=canonical_json)
    return out


def _inferred(spec) -> str | None:
    """The distribution W&B's sweeps engine infers when none is named."""
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    low, high = spec.get("min"), spec.get("max")
    if isinstance(low, int) and isinstance(high, int) and not isinstance(low, bool) and not isinstance(high, bool):
        return "int_uniform"
    if low is not None and high is not None:
        return "uniform"
    return None
