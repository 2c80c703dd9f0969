"""The local backend's search: a W&B sweep config mapped onto an Optuna study.

`plan_search(config)` gives a SearchPlan: the Optuna distributions to ask for (nested parameters
flattened to "outer.inner"), the grid points to enqueue, the sampler to use, and `wandb_params`,
which turns a trial's Optuna values back into exactly the nested values W&B would hand the run.
What cannot be mapped raises SearchSpaceError listing every offending key. MAPPING_ROWS documents
the mapping of each W&B distribution; `mapping_table_markdown()` renders it for the docs.

Optuna is imported only inside methods, so this module loads where Optuna is not installed.
"""
from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from dataclasses import dataclass

from ...contract.check_util import is_number
from ...contract.issues import Issue, sort_issues
from ...contract.sweep_checks import check_sweep_config
from .search_choices import MAX_GRID_RANGE_VALUES
from .search_transforms import QUANTILE_LOW, Constant, Dimension, build_leaf, grid_identity

METHODS = ("grid", "random", "bayes")
# TPE's random start: small next to the usual run caps of 8-50, so most trials are model-guided.
TPE_MIN_STARTUP_TRIALS = 3
TPE_MAX_STARTUP_TRIALS = 10

_Q = "then round(x / q) * q, ties to even; an int when q is written as an integer, else a float"
_QUANTILE = f"FloatDistribution({QUANTILE_LOW:g}, 1 - {QUANTILE_LOW:g}) over the CDF quantile p"

MAPPING_ROWS = (
    ("`value`, or distribution `constant`", "none (not searched)",
     "The value itself in every run, nested constants included."),
    ("`values`, or distribution `categorical`",
     "CategoricalDistribution over the values; over their indices when a value is a list or mapping, "
     "or when values equal across types (1, 1.0, true) would collapse",
     "W&B picks an index uniformly (a repeated value weighs more); the run gets that value. Grid: every "
     "distinct value once (W&B counts 1 and 1.0 as one), parameters in name order, the last varying fastest."),
    ("`values` with `probabilities`, or distribution `categorical_w_probabilities`",
     "FloatDistribution(0, 1) over a uniform u",
     "The first value whose cumulative probability exceeds u, as W&B draws it: a random sweep gives each "
     "value exactly its probability (a value of probability 0 never runs); TPE models u. Not in grid sweeps."),
    ("`min`/`max` both integers, or `int_uniform`", "IntDistribution(min, max); grid: CategoricalDistribution",
     "An integer uniform on [min, max], both ends included (W&B: randint(min, max + 1)). Grid: every "
     f"integer from min to max (at most {MAX_GRID_RANGE_VALUES})."),
    ("`min`/`max` not both integers, or `uniform`", "FloatDistribution(min, max)",
     "A float uniform on [min, max]; a float even for integer bounds with distribution uniform, and for "
     "mixed bounds such as 0 and 1.0 (W&B treats them as uniform)."),
    ("`q_uniform` (q default 1.0)", "FloatDistribution(min, max); grid: CategoricalDistribution",
     f"x uniform, {_Q} (W&B's default q is 1.0, giving floats such as 3.0). Can land up to q/2 outside "
     "[min, max], as in W&B. Not step=q: Optuna's steps start at min, not at multiples of q. Grid: "
     "W&B's numpy.arange(min, max, q): min, min + q, ... below max, unrounded (0.1 steps give "
     f"0.30000000000000004), at most {MAX_GRID_RANGE_VALUES}."),
    ("`log_uniform`", "FloatDistribution(e^min, e^max, log=True)",
     "min and max are natural-log exponents; the value is log-uniform on [e^min, e^max]."),
    ("`log_uniform_values`", "FloatDistribution(min, max, log=True)",
     "Log-uniform between the raw bounds (min > 0)."),
    ("`inv_log_uniform`", "FloatDistribution(e^-max, e^-min, log=True)",
     "W&B returns exp(-u), u uniform on [min, max] (ln(1/x) is uniform); the reciprocal of a "
     "log-uniform value is log-uniform, so this is log-uniform on [e^-max, e^-min]."),
    ("`inv_log_uniform_values`", "FloatDistribution(min, max, log=True)",
     "W&B returns exp(-u), u uniform on [-ln max, -ln min]: log-uniform on [min, max], the same law "
     "as log_uniform_values."),
    ("`q_log_uniform` (q default 1.0)", "FloatDistribution(e^min, e^max, log=True)",
     f"x log-uniform, {_Q} (Optuna refuses log together with step). Values under q/2 become 0, as in W&B."),
    ("`q_log_uniform_values` (q default 1.0)", "FloatDistribution(min, max, log=True)",
     f"x log-uniform, {_Q}."),
    ("`normal` (mu 0, sigma 1)", _QUANTILE,
     "NormalDist(mu, sigma).inv_cdf(p), the inverse CDF W&B samples at a uniform p. Tails beyond "
     "about 4.75 sigma are cut; TPE models p, not the value."),
    ("`q_normal` (mu 0, sigma 1, q 1.0)", _QUANTILE, f"NormalDist(mu, sigma).inv_cdf(p), {_Q}."),
    ("`log_normal` (mu 0, sigma 1)", _QUANTILE,
     "exp(NormalDist(mu, sigma).inv_cdf(p)): W&B's lognorm(s=sigma, scale=e^mu)."),
    ("`q_log_normal` (mu 0, sigma 1, q 1.0)", _QUANTILE, f"exp(NormalDist(mu, sigma).inv_cdf(p)), {_Q}."),
    ("`beta` (a 1, b 1)", "rejected",
     "The standard library has no inverse beta CDF. Use uniform on [0.0, 1.0], or the skypilot backend."),
    ("`q_beta` (a 1, b 1, q 1.0)", "rejected",
     "As beta. Use q_uniform on [0.0, 1.0], or the skypilot backend."),
    ("nested `parameters:`", "one distribution per inner parameter, named outer.inner",
     "The run gets the nested mapping under the outer key, as W&B hands it; a nested block holds only "
     "parameters."),
)


def mapping_table_markdown() -> str:
    """MAPPING_ROWS as a Markdown table (one row per W&B parameter spec)."""
    lines = ["| W&B parameter spec | Optuna distribution (local backend) | Value the run gets |",
             "|---|---|---|"]
    lines += [f"| {spec} | {dist} | {notes} |" for spec, dist, notes in MAPPING_ROWS]
    return "\n".join(lines) + "\n"


class SearchSpaceError(Exception):
    """A sweep config the local backend cannot search; `issues` lists every unmappable key."""

    def __init__(self, issues):
        self.issues = sort_issues(issues)
        super().__init__(self.issues[0].message if self.issues else "the search space cannot be mapped")


@dataclass(frozen=True)
class SearchPlan:
    """How the local backend searches one sweep config. `leaves` holds Constant and Dimension records
    in config order (nested blocks depth first)."""

    method: str
    metric_name: str | None
    goal: str | None
    target: float | None
    run_cap: int | None
    leaves: tuple

    @property
    def direction(self) -> str:
        """Optuna's direction. Without a metric W&B's default goal applies: minimize."""
        return "maximize" if self.goal == "maximize" else "minimize"

    @property
    def dimensions(self) -> tuple:
        return tuple(leaf for leaf in self.leaves if isinstance(leaf, Dimension))

    def distributions(self) -> dict:
        """Flat name -> Optuna distribution, in config order (constants are not searched)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out = {}
        for dim in self.dimensions:
            if dim.space == "categorical":
                out[dim.name] = CategoricalDistribution(dim.choices)
            elif dim.space == "int":
                out[dim.name] = IntDistribution(dim.low, dim.high)
            else:
                out[dim.name] = FloatDistribution(dim.low, dim.high, log=dim.log)
        return out

    def _grid_axes(self) -> list:
        """Per searched parameter, W&B's order: names sorted, each distinct value once at its first
        position (holding its last occurrence, as W&B's value lookup does)."""
        if self.method != "grid":
            raise ValueError(f"grid points exist only for grid sweeps, not {self.method}")
        axes = []
        for dim in sorted(self.dimensions, key=lambda d: d.path):
            distinct = {}
            for index, text in enumerate(dim.values_json):
                distinct[grid_identity(json.loads(text))] = index
            axes.append((dim, [dim.choices[i] for i in distinct.values()]))
        return axes

    @property
    def grid_size(self) -> int | None:
        """How many runs the grid holds; None for random and bayes sweeps."""
        if self.method != "grid":
            return None
        return math.prod(len(choices) for _, choices in self._grid_axes())

    def grid_points(self) -> list:
        """Every grid point as Optuna values (what study.enqueue_trial takes), in W&B's order."""
        axes = self._grid_axes()
        names = [dim.name for dim, _ in axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(choices for _, choices in axes))]

    @property
    def startup_trials(self) -> int:
        """TPE's random trials before it models: a quarter of the run cap, between 3 and 10."""
        if self.run_cap is None:
            return TPE_MAX_STARTUP_TRIALS
        return max(TPE_MIN_STARTUP_TRIALS, min(TPE_MAX_STARTUP_TRIALS, math.ceil(self.run_cap / 4)))

    def make_sampler(self, seed: int | None = None):
        """bayes: multivariate TPE (models the parameters jointly) with the constant liar, so parallel
        agents do not all probe the same spot. random: RandomSampler. grid: RandomSampler too; every
        trial runs an enqueued grid point, whose fixed values bypass the sampler (GridSampler would keep
        a grid of its own beside the enqueued one)."""
        from optuna.samplers import RandomSampler, TPESampler

        if self.method == "bayes":
            return TPESampler(seed=seed, n_startup_trials=self.startup_trials, multivariate=True,
                              constant_liar=True)
        return RandomSampler(seed=seed)

    def wandb_params(self, optuna_params: dict) -> dict:
        """The nested plain-JSON values W&B would hand the run for these Optuna values, constants
        included: {"lr": 0.01, "model": {"depth": 4}}."""
        unknown = sorted(set(optuna_params) - {dim.name for dim in self.dimensions})
        if unknown:
            raise ValueError(f"parameters not in the search space: {', '.join(unknown)}")
        out: dict = {}
        for leaf in self.leaves:
            if isinstance(leaf, Constant):
                value = leaf.value()
            elif leaf.name in optuna_params:
                value = leaf.to_wandb(optuna_params[leaf.name])
            else:
                raise ValueError(f"no value for searched parameter {leaf.name!r}")
            target = out
            for key in leaf.path[:-1]:
                target = target.setdefault(key, {})
            target[leaf.path[-1]] = value
        return out


def plan_search(sweep_config: dict, label: str = "sweep_config", parts: tuple = ()) -> SearchPlan:
    """The SearchPlan of a (schema-valid) W&B sweep config; SearchSpaceError lists every key the local
    backend cannot map, with `parts` prefixed to each issue's path."""
    if not isinstance(sweep_config, dict):
        raise SearchSpaceError([_issue(label, parts, "the sweep config is not a mapping", "a W&B sweep config",
                                       "give a mapping with method and parameters")])
    params_parts = parts + ("parameters",)
    issues = [i for i in check_sweep_config(sweep_config, parts, label)
              if i.parts[:len(params_parts)] == params_parts]
    method = sweep_config.get("method")
    if method not in METHODS:
        issues.append(_issue(label, parts + ("method",), f"method {method!r} is not a W&B search method",
                             "grid, random or bayes", "set method to grid, random or bayes"))
    flagged = {i.parts for i in issues}
    leaves = []
    for path, spec, spec_parts in _walk(sweep_config.get("parameters"), (), params_parts, label, issues):
        if any(p[:len(spec_parts)] == spec_parts for p in flagged):
            continue  # already reported by the sweep checks; mapping it would only repeat them
        leaf, found = build_leaf(spec, path, spec_parts, label, grid=method == "grid")
        issues += found
        if leaf is not None:
            leaves.append((leaf, spec_parts))
    issues += _name_collisions(leaves, label)
    if issues:
        raise SearchSpaceError(issues)
    metric = sweep_config.get("metric") if isinstance(sweep_config.get("metric"), dict) else {}
    target, run_cap = metric.get("target"), sweep_config.get("run_cap")
    return SearchPlan(method=method, metric_name=metric.get("name"), goal=metric.get("goal"),
                      target=float(target) if is_number(target) else None,
                      run_cap=run_cap if is_number(run_cap) else None,
                      leaves=tuple(leaf for leaf, _ in leaves))


def _walk(params, path, parts, label, issues):
    """(path, spec, issue parts) of every parameter, nested blocks depth first in config order."""
    if not isinstance(params, dict) or not params:
        issues.append(_issue(label, parts, "the parameters block is empty or not a mapping",
                             "a mapping of parameter names to specs", "add at least one parameter"))
        return
    for name, spec in params.items():
        spec_parts = parts + (name,)
        if not isinstance(spec, dict):
            issues.append(_issue(label, spec_parts, f"parameter '{name}' is not a mapping",
                                 "a parameter spec such as {value: 1}", "write the parameter as a mapping"))
        elif "parameters" in spec:  # keys beside it: the sweep checks' sweep.key_not_for_distribution
            yield from _walk(spec["parameters"], path + (name,), spec_parts + ("parameters",), label, issues)
        else:
            yield path + (name,), spec, spec_parts


def _name_collisions(leaves, label) -> list:
    """Two searched parameters whose flat names meet, e.g. a top-level 'a.b' and b nested under a."""
    counts = Counter(leaf.name for leaf, _ in leaves if isinstance(leaf, Dimension))
    return [_issue(label, spec_parts, f"the flat name '{leaf.name}' of this parameter is taken by another one",
                   "distinct names once nested names are joined with '.'", "rename one of the two parameters")
            for leaf, spec_parts in leaves if isinstance(leaf, Dimension) and counts[leaf.name] > 1]


def _issue(label, parts, problem, expected, fix) -> Issue:
    return Issue(label, parts, "local.search_space_unsupported", problem, expected, fix)
