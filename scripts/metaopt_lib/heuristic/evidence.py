"""What the trial history says: the finished trials ranked by the objective, the best region, and
each dimension's importance (Optuna's PED-ANOVA evaluator over the trials)."""
from __future__ import annotations

import math
import warnings

from ..contract.trial_ranking import ranked

# Fewer finished trials than this and importance is not estimated (no dimension is dropped).
MIN_TRIALS_FOR_IMPORTANCE = 10
TOP_FRACTION = 0.25
MIN_TOP = 3


class Evidence:
    """The finished trials of a history, best first (ties: the earlier trial)."""

    def __init__(self, history: dict | None, direction: str):
        self.direction = direction
        rows = (history or {}).get("trials", [])
        self.rows = rows
        self.ranked = ranked(rows, direction)

    @property
    def best(self) -> dict | None:
        return self.ranked[0] if self.ranked else None

    def top(self) -> list:
        """The best quarter of the finished trials, at least three (all of them when fewer)."""
        count = max(MIN_TOP, math.ceil(TOP_FRACTION * len(self.ranked)))
        return self.ranked[:count]

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "maximize" else a < b

    def importance(self, dims: dict) -> dict | None:
        """name -> importance (summing to 1) of each dimension in `dims`, or None with too few trials."""
        dims = {n: d for n, d in dims.items() if d.numeric or all(_scalar(v) for v in d.values)}
        usable = [r for r in self.ranked if all(dims[n].contains(r["params"].get(n)) for n in dims)]
        if len(usable) < MIN_TRIALS_FOR_IMPORTANCE or len(dims) < 2:
            return None
        import optuna
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        distributions = {}
        for name, dim in dims.items():
            if dim.kind == "cat":
                distributions[name] = CategoricalDistribution(list(dim.values))
            elif dim.kind == "int":
                distributions[name] = IntDistribution(int(dim.lo), int(dim.hi))
            else:
                distributions[name] = FloatDistribution(float(dim.lo), float(dim.hi), log=dim.log)
        study = optuna.create_study(direction=self.direction)
        for row in usable:
            params = {n: row["params"][n] for n in dims}
            study.add_trial(optuna.trial.create_trial(params=params, distributions=distributions,
                                                      value=row["metric_value"]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PED-ANOVA is marked experimental
            scores = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), normalize=True)
        return {name: float(scores.get(name, 0.0)) for name in dims}

    def at_bound(self, dim) -> str | None:
        """"lo" or "hi" when the best trial's value sits in the outer tenth of a numeric dimension."""
        best = self.best
        if best is None or not dim.numeric:
            return None
        position = dim.position(best["params"].get(dim.name))
        if position is None:
            return None
        if position <= 0.1:
            return "lo"
        if position >= 0.9:
            return "hi"
        return None


def _scalar(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))
