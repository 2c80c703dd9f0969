"""The heuristic analysis worker: the best run against the baseline, and learnings read off the
sweep's trial table (what failed, which dimensions mattered, where the best trials sit, which
bounds the best trial touched)."""
from __future__ import annotations

from .evidence import Evidence
from ..contract.conventions import one_line
from .moves import describe, extent, narrowed, short
from .space import read_dims

MAX_LEARNINGS = 10


def analyze(task: dict) -> dict:
    context, objective = task["context"], task["objective"]
    metric, direction = objective["metric"], objective["direction"]
    evidence = Evidence(context.get("history"), direction)
    best_run, baseline = context["best_run"], context["baseline"]
    explanation, improved = _explanation(best_run, baseline, metric, direction, evidence)
    learnings = _learnings(context, evidence, metric)
    return {"schema_version": 1, "task_id": task["task_id"], "worker": task["worker"], "status": "ok",
            "best_run_explanation": explanation, "learnings": [one_line(text) for text in learnings[:MAX_LEARNINGS]], "improved": improved}


def _explanation(best_run, baseline, metric, direction, evidence):
    if best_run is None:
        return (f"No trial of the sweep logged {metric}, so there is nothing to compare with the baseline.", False)
    config = ", ".join(f"{k}={short(v)}" for k, v in sorted(best_run["config"].items())[:12])
    text = f"Best run {best_run['run_id']} reached {metric} {best_run['metric_value']:.6g} with {config}."
    if evidence.ranked:
        text += f" It is the best of {len(evidence.ranked)} finished trials."
    if baseline is None:
        return text + " There was no baseline: this run sets it.", True
    gain = best_run["metric_value"] - baseline["metric_value"]
    improved = gain > 0 if direction == "maximize" else gain < 0
    verdict = "better than" if improved else "not better than"
    return (text + f" That is {verdict} the baseline {baseline['metric_value']:.6g} ({direction}; difference "
            f"{gain:+.4g}).", improved)


def _learnings(context, evidence: Evidence, metric):
    out = []
    counts = context["trials"]
    ran = sum(counts.get(k, 0) for k in ("finished", "failed", "killed", "interrupted"))
    bad = counts.get("failed", 0) + counts.get("killed", 0)
    if bad:
        out.append(f"{bad} of {ran} trials failed or were killed: check the trial logs before widening the space.")
    dims = read_dims(context["sweep_config"]["parameters"])
    if not dims or not evidence.ranked:
        return out or [f"No finished trial logged {metric}; the space taught nothing yet."]
    importance = evidence.importance(dims)
    if importance:
        ranked = sorted(importance, key=lambda n: (-importance[n], n))
        out.append("Importance over the trials: " + ", ".join(f"{n} {importance[n]:.0%}" for n in ranked) + ".")
    top = evidence.top()
    for name in sorted(dims):
        dim, region = dims[name], narrowed(dims[name], evidence, margin=0.0)
        if region != dim:
            out.append(f"The best {len(top)} trials had {describe(region)} (searched {extent(dim)}).")
        side = evidence.at_bound(dim)
        if side is not None:
            bound = dim.lo if side == "lo" else dim.hi
            out.append(f"The best trial's {name} sits at the {'lower' if side == 'lo' else 'upper'} bound "
                       f"{short(bound)}: the optimum may lie beyond it.")
    return out
