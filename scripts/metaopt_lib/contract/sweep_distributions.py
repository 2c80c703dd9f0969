"""W&B's sweep parameter distributions as data: the keys each one takes and needs, which one a spec
means when it names none, which ones a grid can enumerate and which ones W&B only warns about.

Written from W&B's own rules (wandb/sweeps: config/schema.json's param_* definitions, each closed to
other keys; params.py for the implicit choice; grid_search.py for the grid). The contract checks
(sweep_checks.py), the canonical space (sweep_space.py) and the local backend's mapping all read it.
"""
from __future__ import annotations

RANGE_KEYS = frozenset({"min", "max"})

# Keys each distribution takes besides `distribution`; W&B refuses a spec with any other key.
ACCEPTED_KEYS = {
    "constant": frozenset({"value"}),
    "categorical": frozenset({"values"}),
    "categorical_w_probabilities": frozenset({"values", "probabilities"}),
    "int_uniform": RANGE_KEYS,
    "uniform": RANGE_KEYS,
    "q_uniform": RANGE_KEYS | {"q"},
    "log_uniform": RANGE_KEYS,
    "log_uniform_values": RANGE_KEYS,
    "inv_log_uniform": RANGE_KEYS,
    "inv_log_uniform_values": RANGE_KEYS,
    "q_log_uniform": RANGE_KEYS | {"q"},
    "q_log_uniform_values": RANGE_KEYS | {"q"},
    "normal": frozenset({"mu", "sigma"}),
    "q_normal": frozenset({"mu", "sigma", "q"}),
    "log_normal": frozenset({"mu", "sigma"}),
    "q_log_normal": frozenset({"mu", "sigma", "q"}),
    "beta": frozenset({"a", "b"}),
    "q_beta": frozenset({"a", "b", "q"}),
}
DISTRIBUTIONS = tuple(ACCEPTED_KEYS)
REQUIRED_KEYS = {"constant": ("value",), "categorical": ("values",),
                 "categorical_w_probabilities": ("values", "probabilities"),
                 **{dist: ("min", "max") for dist, keys in ACCEPTED_KEYS.items() if "min" in keys}}
RANGE_DISTRIBUTIONS = frozenset(dist for dist, keys in ACCEPTED_KEYS.items() if "min" in keys)
# min and max are natural-log exponents; W&B warns and names the form that takes raw values.
DEPRECATED = {"log_uniform": "log_uniform_values", "inv_log_uniform": "inv_log_uniform_values",
              "q_log_uniform": "q_log_uniform_values"}
EXPONENT_BOUNDS = frozenset(DEPRECATED)
VALUE_BOUNDS = frozenset(DEPRECATED.values())  # raw bounds of a log scale: min > 0
# What a grid enumerates: constants, unweighted values, every integer of an int_uniform range and
# every step of a q_uniform range (W&B's grid_search.py).
GRID_DISTRIBUTIONS = frozenset({"constant", "categorical", "int_uniform", "q_uniform"})
NESTED_KEY = "parameters"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def resolve_distribution(spec: dict) -> str | None:
    """The distribution a parameter spec means: the one it names, else W&B's implicit choice (value:
    constant; values: categorical, categorical_w_probabilities with probabilities; min and max:
    int_uniform when both are integers, uniform otherwise). None when the spec means none."""
    if "distribution" in spec:
        return spec["distribution"]
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical_w_probabilities" if "probabilities" in spec else "categorical"
    if "min" in spec or "max" in spec:
        return "int_uniform" if is_int(spec.get("min")) and is_int(spec.get("max")) else "uniform"
    return None


def implied_by(spec: dict) -> str:
    """How a spec chose its distribution, for messages: "distribution X" or "'values'"."""
    if "distribution" in spec:
        return f"distribution {spec['distribution']}"
    for key in ("value", "values", "min", "max"):
        if key in spec:
            return f"'{key}' (distribution {resolve_distribution(spec)})"
    return "this spec"


def distributions_taking(key: str) -> list:
    """The distributions that accept a key, in W&B's order."""
    return [dist for dist, keys in ACCEPTED_KEYS.items() if key in keys]
