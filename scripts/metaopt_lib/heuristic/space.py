"""A W&B `parameters` block as dimensions the heuristic workers can narrow, widen, fix and compare.

A numeric dimension is read in its search scale ("unit" space): the logarithm for log
distributions, the value itself otherwise. Distributions the heuristics do not reshape (normal,
inverse-log, nested blocks) are kept exactly as written."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

LOG_DISTRIBUTIONS = ("log_uniform_values", "q_log_uniform_values", "log_uniform")
LINEAR_DISTRIBUTIONS = ("uniform", "int_uniform", "q_uniform")


@dataclass(frozen=True)
class Dim:
    """One swept parameter. kind: int | float | cat. For numeric ones lo < hi (raw values)."""

    name: str
    kind: str
    lo: float = 0.0
    hi: float = 0.0
    log: bool = False
    q: float | None = None
    values: tuple = ()

    @property
    def numeric(self) -> bool:
        return self.kind != "cat"

    def unit(self, value: float) -> float:
        return math.log(value) if self.log else float(value)

    def raw(self, unit: float) -> float:
        return math.exp(unit) if self.log else unit

    @property
    def span(self) -> float:
        return self.unit(self.hi) - self.unit(self.lo)

    def position(self, value) -> float | None:
        """Where a value sits between lo (0) and hi (1), or None when it is not a usable number."""
        if not _number(value) or (self.log and value <= 0) or self.span <= 0:
            return None
        return (self.unit(value) - self.unit(self.lo)) / self.span

    def contains(self, value) -> bool:
        if not self.numeric:
            return value in self.values
        return _number(value) and self.lo <= value <= self.hi

    def spec(self) -> dict:
        """The W&B parameter spec of this dimension."""
        if not self.numeric:
            return {"values": list(self.values)}
        if self.q is not None:
            whole = isinstance(self.q, int) and float(self.lo).is_integer() and float(self.hi).is_integer()
            lo, hi = (int(self.lo), int(self.hi)) if whole else (float(_tidy(self.lo)), float(_tidy(self.hi)))
            return {"distribution": "q_log_uniform_values" if self.log else "q_uniform", "q": self.q,
                    "min": lo, "max": hi}
        if self.kind == "int":
            return {"distribution": "int_uniform", "min": int(self.lo), "max": int(self.hi)}
        return {"distribution": "log_uniform_values" if self.log else "uniform",
                "min": float(_tidy(self.lo)), "max": float(_tidy(self.hi))}

    def with_unit_bounds(self, ulo: float, uhi: float) -> "Dim":
        """This dimension with new bounds given in its search scale, rounded for a person to read
        (integers outward); unchanged when the new bounds would be empty."""
        lo, hi = self.raw(ulo), self.raw(uhi)
        if self.kind == "int":
            lo, hi = math.floor(lo + 1e-9), math.ceil(hi - 1e-9)
        else:
            lo, hi = _tidy(lo), _tidy(hi)
        if not lo < hi or (self.log and lo <= 0):
            return self
        return replace(self, lo=lo, hi=hi)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _tidy(value: float) -> float:
    """Four significant digits: bounds a person reads, stable across runs."""
    if value == 0 or not math.isfinite(value):
        return value
    return float(f"{value:.4g}")


def read_dim(name: str, spec) -> Dim | None:
    """The dimension a spec sweeps, or None for a constant, a nested block or a distribution the
    heuristics keep as written."""
    if not isinstance(spec, dict) or "parameters" in spec or "value" in spec:
        return None
    dist = spec.get("distribution")
    if isinstance(spec.get("values"), list) and dist in (None, "categorical", "categorical_w_probabilities"):
        values = tuple(spec["values"])
        return Dim(name, "cat", values=values) if len(values) > 1 else None
    lo, hi = spec.get("min"), spec.get("max")
    if not (_number(lo) and _number(hi) and lo < hi):
        return None
    if dist is None:
        dist = "int_uniform" if isinstance(lo, int) and isinstance(hi, int) else "uniform"
    if dist == "log_uniform":  # bounds are natural-log exponents
        return Dim(name, "float", math.exp(lo), math.exp(hi), log=True)
    if dist not in LOG_DISTRIBUTIONS + LINEAR_DISTRIBUTIONS or (dist in LOG_DISTRIBUTIONS and lo <= 0):
        return None
    kind = "int" if dist == "int_uniform" else "float"
    q = spec.get("q", 1) if dist.startswith("q_") else None
    return Dim(name, kind, lo, hi, log=dist in LOG_DISTRIBUTIONS, q=q)


def read_dims(parameters: dict) -> dict:
    """name -> Dim for every parameter the heuristics can reshape."""
    dims = {}
    for name, spec in (parameters or {}).items():
        dim = read_dim(name, spec)
        if dim is not None:
            dims[name] = dim
    return dims


def with_dims(parameters: dict, dims: dict, fixed: dict | None = None) -> dict:
    """`parameters` with each dimension in `dims` rewritten and each name in `fixed` set to its value."""
    out = {}
    for name, spec in parameters.items():
        if fixed and name in fixed:
            out[name] = {"value": fixed[name]}
        elif name in dims:
            out[name] = dims[name].spec()
        else:
            out[name] = spec
    return out


def relative_volume(dims: dict, reference: dict, fixed_names=()) -> float:
    """How much of the reference space a space covers: the product of its widths (numeric, in
    search scale) or value counts (categorical) over the reference's; a fixed dimension counts as a
    tenth. Dimensions the reference does not sweep are ignored."""
    volume = 1.0
    for name, ref in reference.items():
        if name in fixed_names:
            volume *= 0.1
        elif name in dims:
            dim = dims[name]
            if ref.numeric and dim.numeric and ref.span > 0:
                volume *= max(dim.span, 0.0) / ref.span
            elif not ref.numeric and not dim.numeric:
                volume *= len(dim.values) / len(ref.values)
    return volume
