"""metaopt-select-design: SELECT_AND_DESIGN_SWEEP / plan_selection and finalize_selection.

The selection worker picks one pool proposal and refines its search space. Its answer is untrusted:
the winner must still be in the pool, and everything that reaches a command or costs money
(program, command, metric, run cap) is set from the campaign before the config is validated.
"""
from __future__ import annotations

import copy

from ..contract import machine, validation
from ..contract.state_views import effective_baseline
from .background_control import pool_digests, recent_learnings
from .local_sanity import unread_errors
from .common import run_phase
from .history import trial_history
from .worker_gate import error, gate_worker_results

SELECTION_WORKER = "metaopt-selection-worker"
WORKER_METRIC_KEYS = ("target", "impute", "impute_while_running")
WANDB_LOCATION_KEYS = ("entity", "project")
WORKER_HELP = "Check the selection worker and its results under .ml-metaopt/results/, then run metaopt.py resume."


def selection_context(state, campaign, inputs) -> dict:
    policy = campaign["proposal_policy"]
    return {"proposals": pool_digests(state["proposal_pool"], policy["max_pool_size"]),
            "baseline": effective_baseline(state),
            "learnings": recent_learnings(inputs.history, policy["max_learnings_in_context"]),
            "run_cap": campaign["compute"]["run_cap"],
            "history": trial_history(state, inputs, campaign["objective"]["direction"])}


def plan_selection(state, campaign, inputs, builder) -> dict:
    if not state["proposal_pool"]:
        return builder.blocked("BLOCKED_PROTOCOL", "empty-pool", "There is no proposal to select from.",
                               "Run metaopt.py resume to ask the ideation workers for new proposals.", campaign,
                               resume_state="IDEATE", resume_phase="plan_ideation")
    sanity = state.get("sanity")
    if sanity and sanity["iteration"] == state["iteration"] and sanity["unread_keys"]:
        # The smoke test found swept parameters the program never reads: ask again, saying which.
        builder.worker(SELECTION_WORKER, campaign, selection_context(state, campaign, inputs),
                       attempt=sanity["rejections"] + 1,
                       previous_errors=unread_errors(sanity, campaign["project"]["program"]))
    else:
        builder.worker(SELECTION_WORKER, campaign, selection_context(state, campaign, inputs))
    return builder.advance("SELECT_AND_DESIGN_SWEEP", "finalize_selection",
                           f"Dispatched the selection worker over {len(state['proposal_pool'])} proposal(s).")


def finalize_selection(state, campaign, inputs, builder) -> dict:
    if not any(r["name"] == SELECTION_WORKER for r in state["pending"]):
        return builder.advance("SELECT_AND_DESIGN_SWEEP", "plan_selection",
                               "No selection task is pending; dispatching one again.")
    gate = gate_worker_results(state, campaign, inputs, builder, SELECTION_WORKER,
                               lambda _record: selection_context(state, campaign, inputs))
    for record, document in gate.accepted:
        selected, errors = selected_sweep(state, campaign, document)
        if selected is not None:
            builder.set("/selected_sweep", selected)
            return builder.advance("LOCAL_SANITY", "request_smoke_test",
                                   f"Selected {selected['proposal_id']} for iteration {state['iteration']} "
                                   f"({selected['sweep_config']['method']}, run cap "
                                   f"{selected['sweep_config']['run_cap']}).")
        # Valid against its task, but not against the current pool or campaign: a rejected result.
        reject_and_retry(state, campaign, inputs, builder, gate, record, errors)
    if builder.launches:
        return builder.advance("SELECT_AND_DESIGN_SWEEP", "finalize_selection",
                               f"Selection retried: {gate.problems[0]}")
    if gate.waiting and not builder.resolved:
        return builder.wait([r["id"] for r in gate.waiting], gate.until, "Waiting for the selection result.")
    if gate.waiting:
        return builder.advance("SELECT_AND_DESIGN_SWEEP", "finalize_selection",
                               f"{len(gate.waiting)} selection result(s) still pending.")
    problem = gate.problems[0] if gate.problems else "no usable selection result"
    return builder.blocked("BLOCKED_PROTOCOL", "worker-attempts-exhausted",
                           f"Selection failed within the attempt limit: {problem}", WORKER_HELP, campaign,
                           resume_state="SELECT_AND_DESIGN_SWEEP", resume_phase="plan_selection")


def reject_and_retry(state, campaign, inputs, builder, gate, record, errors):
    """Reject a consumed selection result after all (`errors`: previous_errors items) and retry it."""
    for item in builder.resolved:
        if item["id"] == record["id"]:
            item["disposition"] = "rejected"
    gate.problems.append(f"{record['id']} ({errors[0]['rule']} at {errors[0]['path']}): {errors[0]['message']}")
    if record["attempt"] < campaign["proposal_policy"]["max_worker_attempts"]:
        task = inputs.tasks.get(record["id"])
        context = task["context"] if task else selection_context(state, campaign, inputs)
        builder.worker(SELECTION_WORKER, campaign, context, attempt=record["attempt"] + 1, previous_errors=errors)
    else:
        gate.exhausted.append(record)


def selected_sweep(state, campaign, document):
    """(selected_sweep record, None) for a usable selection result, else (None, previous_errors items)."""
    winner = document["winning_proposal_id"]
    hashes = {p["proposal_id"]: p["content_hash"] for p in state["proposal_pool"]}
    if winner not in hashes:
        return None, [error("worker.unknown_proposal_id", "$.winning_proposal_id",
                            f"winning proposal {winner!r} is not in the proposal pool",
                            "name one of the proposal_id values of the task's proposals")]
    config = final_sweep_config(campaign, document["sweep_config"])
    issues = validation.validate_document("sweep-config", config, "selected sweep config",
                                          validation.Context(objective=campaign["objective"]))
    if issues:
        return None, [error(i.rule, "$.sweep_config" + i.path[1:], f"the refined sweep config is invalid: {i.problem}",
                            i.fix or "follow the sweep-config schema") for i in issues[:10]]
    return {"proposal_id": winner, "proposal_content_hash": hashes[winner], "iteration": state["iteration"],
            "sweep_config": config,
            "rationale": document["rationale"]}, None


def final_sweep_config(campaign, refined) -> dict:
    """The worker's search space with program, command, metric name and goal, and run cap taken from the
    campaign; the worker's metric target and impute settings are kept. A W&B entity or project key goes:
    the sweep lives in the campaign's wandb.entity and project."""
    config = copy.deepcopy(refined)
    project, objective = campaign["project"], campaign["objective"]
    config["program"] = project["program"]
    config["command"] = list(project["command"])
    for key in WANDB_LOCATION_KEYS:
        config.pop(key, None)
    metric = {"name": objective["metric"], "goal": objective["direction"]}
    worker_metric = refined.get("metric")
    if isinstance(worker_metric, dict):
        metric.update({key: worker_metric[key] for key in WORKER_METRIC_KEYS if key in worker_metric})
    config["metric"] = metric
    run_cap = campaign["compute"]["run_cap"]
    if isinstance(refined.get("run_cap"), int) and not isinstance(refined["run_cap"], bool):
        run_cap = min(run_cap, refined["run_cap"])
    config["run_cap"] = run_cap
    return config


PHASES = {("SELECT_AND_DESIGN_SWEEP", "plan_selection"): plan_selection,
          ("SELECT_AND_DESIGN_SWEEP", "finalize_selection"): finalize_selection}


def handoff(state, campaign, inputs) -> dict:
    return run_phase(machine.SELECT, PHASES, state, campaign, inputs)
