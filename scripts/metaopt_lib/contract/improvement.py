"""Whether a sweep's result moves the baseline, as one rule for the analysis, the iteration close, the
report's reasoning and the budget-matched comparison.

Without a noise floor the sweep's best value must beat the baseline by more than the improvement
threshold. With one (honesty.noise_floor), the value judged is the mean of the best configuration's
re-runs, not the single best trial (the best of many trials is biased upward by the luck that made it
the best), and its gain must exceed both the threshold and sd_multiple standard deviations of the
re-runs. With fewer than two re-runs finished there is no standard deviation: the gain cannot be told
from noise, so it is not adopted (unless there is no baseline yet).
"""
from __future__ import annotations

import math
from collections import namedtuple

from .state_views import improves

# Verdict codes; the report turns each into its sentence.
NO_RESULT, FIRST, ADOPTED = "no_result", "first", "adopted"
BELOW_THRESHOLD, WITHIN_NOISE, NOISE_UNMEASURED, NOT_BETTER = (
    "below_threshold", "within_noise", "noise_unmeasured", "not_better")


class Verdict(namedtuple("Verdict", "code value gain threshold noise_bound finished repeats",
                          defaults=(None, None))):
    """code; value: the value judged (the re-runs' mean with a noise floor, else the best); gain:
    direction-aware, positive is better than the baseline; threshold; noise_bound: sd_multiple x sd,
    when a noise floor with a deviation was measured; finished and repeats: the re-runs, with one."""

    __slots__ = ()

    @property
    def adopted(self) -> bool:
        return self.code in (FIRST, ADOPTED)


def mean_and_sd(values) -> tuple:
    """(mean, sample standard deviation) of finite values; None where too few."""
    import statistics  # only an iteration with a noise floor needs it

    values = [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    mean = statistics.fmean(values) if values else None
    sd = statistics.stdev(values) if len(values) >= 2 else None
    return mean, sd


def gain_of(value, baseline, direction):
    if value is None or baseline is None:
        return None
    return value - baseline if direction == "maximize" else baseline - value


def judge(best_value, baseline_value, direction, threshold, noise=None, sd_multiple=None) -> Verdict:
    """The verdict on a sweep whose best trial gave `best_value`; `noise`: the iteration's noise-floor
    record (common.schema.json#/$defs/noiseFloor) or None."""
    if noise is None:
        value = best_value
        gain = gain_of(value, baseline_value, direction)
        code = _code(value, baseline_value, direction, threshold, gain)
        return Verdict(code, value, gain, threshold, None)
    finished, repeats = len(noise["values"]), noise["repeats"]
    value = noise["mean"] if noise["mean"] is not None else best_value
    gain = gain_of(value, baseline_value, direction)
    bound = None if noise["sd"] is None else (sd_multiple or 0) * noise["sd"]
    code = _code(value, baseline_value, direction, threshold, gain)
    if code == ADOPTED:
        if bound is None:
            code = NOISE_UNMEASURED
        elif not improves(value, baseline_value, direction, bound):
            code = WITHIN_NOISE
    return Verdict(code, value, gain, threshold, bound, finished, repeats)


def _code(value, baseline, direction, threshold, gain) -> str:
    if value is None:
        return NO_RESULT
    if baseline is None:
        return FIRST
    if improves(value, baseline, direction, threshold):
        return ADOPTED
    return BELOW_THRESHOLD if gain > 0 else NOT_BETTER
