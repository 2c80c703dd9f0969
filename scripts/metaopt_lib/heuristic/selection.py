"""The heuristic selection worker: one proposal by a fixed rule, deterministically.

1. No finished trial yet: the first proposal in pool order (the oldest).
2. The best trial sits at a bound of the latest space: the proposal that widens the most of those
   bounds.
3. Otherwise, among the proposals whose space contains the best trial (all of them when none
   does): when the latest sweep produced the best trial so far (it is still improving), the most
   focused space (smallest share of the latest space); when it did not, the widest one.
Ties go to pool order. The chosen space is used as proposed."""
from __future__ import annotations

from .evidence import Evidence
from .moves import bounds_to_widen
from .space import read_dims, relative_volume


def select(task: dict) -> dict:
    context = task["context"]
    proposals = context["proposals"]
    history = context.get("history") or {"trials": [], "latest_space": None}
    evidence = Evidence(history, task["objective"]["direction"])
    latest = history.get("latest_space")
    chosen, reason = _choose(proposals, evidence, latest)
    return {"schema_version": 1, "task_id": task["task_id"], "worker": task["worker"], "status": "ok",
            "winning_proposal_id": chosen["proposal_id"], "sweep_config": chosen["sweep_config"],
            "rationale": f"{reason} Chosen {chosen['proposal_id']}: {chosen['rationale']}"[:20000]}


def _choose(proposals, evidence: Evidence, latest):
    best = evidence.best
    if best is None or latest is None:
        return proposals[0], "No finished trial to judge by yet: the first proposal in pool order."
    reference = read_dims(latest["parameters"])
    sides = bounds_to_widen(reference, evidence)
    if sides:
        counts = [sum(1 for n, s in sides.items() if _extends(p, reference[n], s)) for p in proposals]
        if max(counts):
            names = ", ".join(sorted(sides))
            return (proposals[counts.index(max(counts))],
                    f"The best trial sits at a bound of {names}: the proposal that widens most of them.")
    holding = [p for p in proposals if _contains(p, best["params"])] or proposals
    improving = best.get("iteration") == latest["iteration"]
    volumes = [(relative_volume(read_dims(p["sweep_config"]["parameters"]), reference,
                                _fixed(p) & set(reference)), i) for i, p in enumerate(holding)]
    if improving:
        _, index = min(volumes)
        reason = "The latest sweep found the best trial so far: the most focused proposal that contains it."
    else:
        _, index = max(volumes, key=lambda item: (item[0], -item[1]))
        reason = "The latest sweep did not beat the best trial: the widest proposal that contains it."
    return holding[index], reason


def _extends(proposal, dim, side) -> bool:
    spec = proposal["sweep_config"]["parameters"].get(dim.name)
    new = read_dims({dim.name: spec}).get(dim.name) if spec is not None else None
    if new is None or not new.numeric:
        return False
    return new.lo < dim.lo if side == "lo" else new.hi > dim.hi


def _contains(proposal, params) -> bool:
    parameters = proposal["sweep_config"]["parameters"]
    for name, dim in read_dims(parameters).items():
        if name in params and not dim.contains(params[name]):
            return False
    for name in _fixed(proposal):
        if name in params and parameters[name]["value"] != params[name]:
            return False
    return True


def _fixed(proposal) -> set:
    return {name for name, spec in proposal["sweep_config"]["parameters"].items()
            if isinstance(spec, dict) and "value" in spec}
