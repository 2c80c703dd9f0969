"""metaopt-background-control: IDEATE / plan_ideation and WAIT_FOR_PROPOSALS / gate_ideation.

The proposal pool is a bounded FIFO, de-duplicated by the hash of each proposal's canonical search
space (contract/sweep_space.py), so two proposals of the same space written differently are one:
selected proposals leave it for good, unselected ones roll over to the next iteration, and when it
overflows the oldest go first. Ideation context is capped (last K learnings, the capped pool), so it
does not grow with history. Parallel ideation workers get distinct assignments, so they do not all
propose the same space.
"""
from __future__ import annotations

from ..contract import machine
from ..contract.state_views import effective_baseline, pending_of
from ..contract.sweep_space import space_hash
from .common import run_phase
from .history import trial_history
from .worker_gate import gate_worker_results

IDEATION_WORKER = "metaopt-ideation-worker"
# One per parallel ideation worker, in turn: the same open question asked of several workers gets the
# same answer several times.
ASSIGNMENTS = (
    ("exploit", "Exploit: narrow the search around the best configurations so far (the baseline and the best "
                "trials), tightening the ranges of the parameters that mattered."),
    ("explore", "Explore: sweep dimensions not swept yet, or widen a range whose best value sat at its bound, "
                "to find what the earlier sweeps could not."),
    ("restructure", "Restructure: change how the space is searched (method, early termination, a log instead of "
                    "a linear scale, fewer dimensions) rather than only its ranges."),
)


# --- context shared with the selection lane -------------------------------------------------------

def recent_learnings(history, limit) -> list:
    """The last `limit` learnings as {iteration, text}, oldest first (none when limit is 0)."""
    return [{"iteration": item["iteration"], "text": item["text"]} for item in history.tail("learnings", limit)]


def learnings_summary(history, limit):
    """One short line about the learnings left out of the context, or None when none were."""
    omitted = history.count("learnings") - limit
    if omitted <= 0:
        return None
    first, last = history.at("learnings", 0)["iteration"], history.at("learnings", omitted - 1)["iteration"]
    return (f"{omitted} older learning(s) from iterations {first}-{last} are left out; "
            "the listed ones are the most recent.")


def pool_digests(pool, limit) -> list:
    """What a worker sees of the pool: the newest `limit` proposals, without bookkeeping fields."""
    return [{"proposal_id": p["proposal_id"], "rationale": p["rationale"], "sweep_config": p["sweep_config"]}
            for p in pool[max(0, len(pool) - limit):]]


def normalized_pool(state, history, policy, extra=()) -> list:
    """Pool plus `extra`, without selected proposals (by id or by content, so a winner proposed again
    under a new id stays out) or duplicate content, capped (oldest dropped)."""
    winners = list(history.records("iterations")) + ([state["selected_sweep"]] if state["selected_sweep"] else [])
    selected = {record["proposal_id"] for record in winners}
    hashes = {record["proposal_content_hash"] for record in winners if "proposal_content_hash" in record}
    pool = []
    for proposal in list(state["proposal_pool"]) + list(extra):
        if proposal["proposal_id"] in selected or proposal["content_hash"] in hashes:
            continue
        hashes.add(proposal["content_hash"])
        pool.append(proposal)
    return pool[max(0, len(pool) - policy["max_pool_size"]):]


def ideation_context(state, campaign, inputs, pool, slot=0) -> dict:
    """The task context of the `slot`-th ideation worker of this iteration (an assignment of its own
    when there are several)."""
    policy = campaign["proposal_policy"]
    limit = policy["max_learnings_in_context"]
    context = {"proposals_requested": policy["proposals_per_worker"], "baseline": effective_baseline(state),
               "learnings": recent_learnings(inputs.history, limit),
               "learnings_summary": learnings_summary(inputs.history, limit),
               "pool": pool_digests(pool, policy["max_pool_size"]), "run_cap": campaign["compute"]["run_cap"],
               "search_space": campaign.get("search_space"),
               "history": trial_history(state, inputs, campaign["objective"]["direction"])}
    if policy["ideation_workers"] > 1:
        name, text = ASSIGNMENTS[slot % len(ASSIGNMENTS)]
        context["assignment"] = {"name": name, "text": text}
    return context


# --- phases -----------------------------------------------------------------------------------------

def plan_ideation(state, campaign, inputs, builder) -> dict:
    policy = campaign["proposal_policy"]
    pool = normalized_pool(state, inputs.history, policy)
    if pool != state["proposal_pool"]:
        builder.set("/proposal_pool", pool)
    if len(pool) >= policy["max_pool_size"]:
        return builder.advance("SELECT_AND_DESIGN_SWEEP", "plan_selection",
                               f"The carried-over pool is full ({len(pool)} proposals); selecting without ideation.")
    for slot in range(policy["ideation_workers"]):
        builder.worker(IDEATION_WORKER, campaign, ideation_context(state, campaign, inputs, pool, slot))
    return builder.advance("WAIT_FOR_PROPOSALS", "gate_ideation",
                           f"Dispatched {policy['ideation_workers']} ideation worker(s) for iteration "
                           f"{state['iteration']} ({len(pool)} proposal(s) carried over).")


def gate_ideation(state, campaign, inputs, builder) -> dict:
    policy = campaign["proposal_policy"]
    current = normalized_pool(state, inputs.history, policy)
    if not current and not pending_of(state, IDEATION_WORKER):
        # Nothing to gate and nothing to select from (e.g. resumed here after a block): ask again.
        return plan_ideation(state, campaign, inputs, builder)
    slots = {record["id"]: slot for slot, record in enumerate(pending_of(state, IDEATION_WORKER))}
    gate = gate_worker_results(state, campaign, inputs, builder, IDEATION_WORKER,
                               lambda record: ideation_context(state, campaign, inputs, current, slots[record["id"]]))
    pool = normalized_pool(state, inputs.history, policy, new_proposals(gate.accepted))
    if pool != state["proposal_pool"]:
        builder.set("/proposal_pool", pool)
    if not gate.waiting and not builder.launches:
        if pool:
            return builder.advance("SELECT_AND_DESIGN_SWEEP", "plan_selection",
                                   f"Proposal pool ready with {len(pool)} proposal(s).")
        problem = gate.problems[0] if gate.problems else "no ideation task produced a proposal"
        return builder.blocked("BLOCKED_PROTOCOL", "worker-attempts-exhausted",
                               f"Ideation gave no usable proposal within the attempt limit: {problem}",
                               "Check the ideation worker and its results under .ml-metaopt/results/, "
                               "then run metaopt.py resume.", campaign,
                               resume_state="IDEATE", resume_phase="plan_ideation")
    if not builder.resolved and not builder.launches:
        return builder.wait([r["id"] for r in gate.waiting], gate.until,
                            f"Waiting for {len(gate.waiting)} ideation result(s).")
    retried = f" ({'; '.join(gate.problems)})" if gate.problems and builder.launches else ""
    return builder.advance("WAIT_FOR_PROPOSALS", "gate_ideation",
                           f"Read {len(gate.accepted)} ideation result(s); {len(gate.waiting)} pending, "
                           f"{len(builder.launches)} retried{retried}; pool has {len(pool)} proposal(s).")


def new_proposals(accepted) -> list:
    """Pool entries for accepted ideation results; ids come from the task id, never the worker."""
    entries = []
    for record, document in accepted:
        for number, proposal in enumerate(document["proposals"], start=1):
            entries.append({"proposal_id": f"{record['id']}-p{number}", "iteration": record["iteration"],
                            "source_task_id": record["id"], "rationale": proposal["rationale"],
                            "sweep_config": proposal["sweep_config"],
                            "content_hash": space_hash(proposal["sweep_config"])})
    return entries


PHASES = {("IDEATE", "plan_ideation"): plan_ideation, ("WAIT_FOR_PROPOSALS", "gate_ideation"): gate_ideation}


def handoff(state, campaign, inputs) -> dict:
    return run_phase(machine.BACKGROUND, PHASES, state, campaign, inputs)
