"""The heuristic ideation worker: proposals built from the campaign's search_space and the trial
history, deterministically.

Before any trial: random search over the seed space (the campaign's search_space), then variants
(log scale for wide positive ranges, bayes). With history, three moves over the latest sweep's
space, in the order the worker's assignment asks: exploit (narrow every dimension around the best
quarter of the trials), explore (widen each bound the best trial sits at, or the most important
dimension both ways), restructure (fix the dimensions Optuna's importance evaluator finds below 5 %
at the best trial's values, narrow the rest loosely). Every move with history searches with bayes.
A proposal whose space is already in the pool is skipped for the next candidate."""
from __future__ import annotations

from ..contract.sweep_space import space_hash
from .evidence import Evidence
from .moves import bounds_to_widen, describe, narrowed, short, unimportant, widened
from .space import Dim, read_dims, with_dims

MOVE_ORDER = {"exploit": ("exploit", "explore", "restructure"), "explore": ("explore", "exploit", "restructure"),
              "restructure": ("restructure", "exploit", "explore")}
SEED_ORDER = {"exploit": ("seed", "bayes", "log"), "explore": ("log", "seed", "bayes"),
              "restructure": ("bayes", "log", "seed")}
WIDE_RANGE_RATIO = 100.0  # a positive linear float range this wide (max/min) is searched in log scale


def ideate(task: dict) -> dict:
    context, objective = task["context"], task["objective"]
    history = context.get("history") or {"trials": [], "latest_space": None}
    evidence = Evidence(history, objective["direction"])
    latest = history.get("latest_space")
    reference = latest["parameters"] if latest else context.get("search_space")
    if not reference:
        return _failed(task, "there is no search space to start from: set search_space in the campaign file")
    assignment = (context.get("assignment") or {}).get("name", "exploit")
    if evidence.best is None:
        candidates = [_seed_candidate(kind, reference) for kind in SEED_ORDER[assignment]]
    else:
        candidates = [_move_candidate(move, reference, evidence, objective) for move in MOVE_ORDER[assignment]]
        seed = context.get("search_space")
        if seed and seed != reference:
            candidates.append(("Return to the campaign's whole search_space, now with bayes search informed by "
                               f"{len(evidence.ranked)} finished trials.", seed, "bayes"))
        candidates.append(("Search the latest space again with bayes: no reshaping move gave a new space.",
                           reference, "bayes" if (latest or {}).get("method") != "bayes" else "random"))
    taken = {space_hash(p["sweep_config"]) for p in context.get("pool", [])}
    proposals = []
    for rationale, parameters, method in candidates:
        if parameters is None:
            continue
        config = {"method": method, "metric": {"name": objective["metric"], "goal": objective["direction"]},
                  "parameters": parameters}
        digest = space_hash(config)
        if digest in taken:
            continue
        taken.add(digest)
        proposals.append({"rationale": rationale, "sweep_config": config})
        if len(proposals) == context["proposals_requested"]:
            break
    if not proposals:
        return _failed(task, "every space the heuristics can build from this history is already in the pool")
    return {"schema_version": 1, "task_id": task["task_id"], "worker": task["worker"], "status": "ok",
            "proposals": proposals}


def _seed_candidate(kind, reference):
    if kind == "seed":
        return ("Random search over the campaign's search_space: no trial has run yet, so sample it evenly "
                "before modelling it.", reference, "random")
    if kind == "bayes":
        return "Bayes search over the campaign's search_space from the first trial.", reference, "bayes"
    dims = read_dims(reference)
    logged = {name: Dim(name, dim.kind, dim.lo, dim.hi, log=True) for name, dim in dims.items()
              if dim.kind == "float" and not dim.log and dim.q is None and dim.lo > 0
              and dim.hi / dim.lo >= WIDE_RANGE_RATIO}
    if not logged:
        return "", None, "random"
    return (f"Random search with {', '.join(sorted(logged))} in log scale: "
            f"{'their ranges span' if len(logged) > 1 else 'its range spans'} two decades or more, which "
            "uniform sampling would spend almost entirely on the top decade.", with_dims(reference, logged), "random")


def _move_candidate(move, reference, evidence: Evidence, objective):
    dims = read_dims(reference)
    best = evidence.best
    where = (f"the best {len(evidence.top())} of {len(evidence.ranked)} finished trials "
             f"(best {objective['metric']} {best['metric_value']:.6g}, run {best['run_id']})")
    if move == "exploit":
        narrow = _changed(dims, {name: narrowed(dim, evidence) for name, dim in dims.items()})
        if not narrow:
            return "", None, "bayes"
        return (f"Exploit: narrow to {'; '.join(describe(narrow[n]) for n in sorted(narrow))} around {where}; "
                "bayes search.", with_dims(reference, narrow), "bayes")
    if move == "explore":
        sides = bounds_to_widen(dims, evidence)
        if sides:
            wide = {name: widened(dims[name], side) for name, side in sides.items()}
            text = "; ".join(f"{describe(wide[n])} (best value at the {'lower' if s == 'lo' else 'upper'} bound)"
                             for n, s in sorted(sides.items()))
            return (f"Explore: widen {text}, since the optimum may lie beyond the searched range; bayes search.",
                    with_dims(reference, wide), "bayes")
        numeric = [n for n in sorted(dims) if dims[n].numeric]
        if not numeric:
            return "", None, "bayes"
        importance = evidence.importance(dims) or {}
        name = max(numeric, key=lambda n: (importance.get(n, 0.0), -numeric.index(n)))
        wide = widened(widened(dims[name], "lo", 0.5), "hi", 0.5)
        return (f"Explore: widen {describe(wide)}, the dimension that matters most, on both sides; bayes search.",
                with_dims(reference, {name: wide}), "bayes")
    importance = evidence.importance(dims)
    drop = unimportant(dims, importance)
    if not drop:
        return "", None, "bayes"
    fixed = {name: best["params"][name] for name in drop if name in best["params"]}
    loose = _changed(dims, {name: narrowed(dim, evidence, margin=0.5) for name, dim in dims.items()
                            if name not in fixed})
    shares = ", ".join(f"{n} {importance[n]:.0%}" for n in sorted(fixed))
    return (f"Restructure: fix {', '.join(f'{n}={short(fixed[n])}' for n in sorted(fixed))} at the best trial's values "
            f"(importance {shares} over {len(evidence.ranked)} trials) and search the rest loosely around {where}; "
            "bayes search.", with_dims(reference, loose, fixed), "bayes")


def _changed(dims, new) -> dict:
    return {name: dim for name, dim in new.items() if dim != dims[name]}


def _failed(task, reason):
    return {"schema_version": 1, "task_id": task["task_id"], "worker": task["worker"], "status": "failed",
            "failure_reason": reason, "proposals": []}
