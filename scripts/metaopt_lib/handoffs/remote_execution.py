"""metaopt-remote-execution-control: LOCAL_SANITY, LAUNCH_SWEEP, WAIT_FOR_SWEEP and ANALYZE.

handoff(state, campaign, inputs) -> envelope dispatches on (machine_state, phase). The budget check
and the launch live here; the smoke test in local_sanity, the poll loop in remote_sweep, the analysis
in remote_analysis.
"""
from __future__ import annotations

from ..contract import machine
from ..contract.campaign import launch_reservation
from . import honesty, iteration_close, local_sanity, remote_analysis, remote_sweep
from .common import run_phase
from .remote_sweep import (MAX_EXECUTOR_ATTEMPTS, capped_budget, ensure_ledger_entry, executor_error,
                           executor_problem, is_retryable, newest_pending, supersede, wait_for_executor)


# ---- LAUNCH_SWEEP ---------------------------------------------------------------------------

def planned_launch(state, campaign, inputs):
    """(purpose, identity, sweep config) of the sweep this iteration launches next (see honesty.py);
    the config is None for a control whose space is unknown, the identity then says why."""
    purpose = honesty.next_purpose(state)
    if purpose == "search":
        config = state["selected_sweep"]["sweep_config"]
    elif purpose == "noise_floor":
        config = honesty.noise_sweep(state, campaign)
    else:
        records = inputs.history.records("iterations")
        parameters, source = honesty.control_space(campaign, inputs, records)
        if parameters is None:
            return purpose, source, None
        config = honesty.control_sweep(state, parameters, honesty.trial_budget(records))
    return purpose, honesty.identity_for(state, purpose), config


def launch_payload(state, campaign, budget, purpose, identity, config) -> dict:
    compute, project, wandb = campaign["compute"], campaign["project"], campaign["wandb"]
    payload = {"sweep_identity": identity, "backend": compute["backend"],
               "sweep_config": config, "num_agents": compute["num_sweep_agents"],
               "idle_timeout_minutes": compute["idle_timeout_minutes"], "budget": budget,
               "wandb": {"entity": wandb["entity"], "project": wandb["project"]}}
    if purpose != "search":
        payload["purpose"] = purpose
    if compute["backend"] == "local":
        local = compute["local"]
        payload["local"] = {"hourly_cost_usd": local["hourly_cost_usd"],
                            "max_wall_clock_minutes": local["max_wall_clock_minutes"], "repo": project["repo"]}
    else:
        sky = compute["skypilot"]
        payload["skypilot"] = {key: sky[key] for key in ("provider", "accelerator", "max_hourly_cost_usd",
                                                         "disk_size_gb", "image_id", "setup") if key in sky}
        payload["skypilot"]["repo"] = project["repo"]
    return payload


def _launch_refusal(campaign, budget):
    """Why the budget cannot pay for a launch, or None."""
    reservation = round(launch_reservation(campaign), 6)
    remaining = budget["remaining_usd"]
    if remaining <= 0 or reservation > remaining:
        return (f"Budget cannot pay for the launch: it reserves ${reservation:g} but ${remaining:g} of "
                f"${budget['max_budget_usd']:g} remains.")
    return None


WHAT = {"search": "", "noise_floor": " (the noise floor's re-runs of the best configuration)",
        "control": " (the budget-matched random-search control)"}


def request_launch(state, campaign, inputs, builder):
    builder.set("/spend_ledger/max_budget_usd", campaign["compute"]["max_budget_usd"])
    budget = capped_budget(state, campaign)
    purpose = honesty.next_purpose(state)
    if purpose == "noise_floor" and not honesty.noise_settings(campaign):
        return builder.advance("ROLL_ITERATION", "roll_iteration", "The noise floor was turned off; the iteration "
                               "is judged by the improvement threshold alone.")
    if purpose == "control" and not honesty.control_on(campaign):
        return iteration_close.stop(state, campaign, builder, "the random-search control was turned off")
    purpose, identity, config = planned_launch(state, campaign, inputs)
    if config is None:
        return iteration_close.stop(state, campaign, builder, f"the random-search control did not run: {identity}")
    refusal = _launch_refusal(campaign, budget)
    if refusal:
        return builder.terminal("COMPLETE", refusal, campaign, limits=["budget"],
                                resume_state="LAUNCH_SWEEP", resume_phase="request_launch")
    supersede(builder, state, "launch_sweep")
    # The intent is recorded in the same envelope that asks for the launch, so it is in state before
    # the executor runs: after a crash resources_live=true makes every exit tear down, and the
    # deterministic identity makes the next launch reconnect instead of starting a second sweep.
    record = {"sweep_identity": identity, "iteration": state["iteration"], "backend": campaign["compute"]["backend"],
              "sweep_id": None, "sweep_url": None, "status": "launching", "resources_live": True, "launched_at": None,
              "last_poll_at": None, "trials": {"finished": 0, "running": 0, "failed": 0, "killed": 0, "interrupted": 0},
              "best_run": None, "poll_failures": 0}
    if purpose != "search":
        record.update(purpose=purpose, run_cap=config["run_cap"])
    builder.set("/current_sweep", record)
    ensure_ledger_entry(builder, state, inputs, identity)
    builder.directive("launch_sweep", launch_payload(state, campaign, budget, purpose, identity, config))
    return builder.advance("LAUNCH_SWEEP", "confirm_launch", f"Launch intent recorded for {identity}{WHAT[purpose]}; "
                           f"${budget['remaining_usd']:g} of ${budget['max_budget_usd']:g} remains.")


def confirm_launch(state, campaign, inputs, builder):
    record, result = newest_pending(state, inputs, "launch_sweep")
    if record is None:
        return request_launch(state, campaign, inputs, builder)
    if not result.exists:
        return wait_for_executor(builder, [record])
    sweep = state["current_sweep"]
    problem = executor_problem(record, result, "launch_sweep")
    if problem is None and result.document["details"]["sweep_identity"] != sweep["sweep_identity"]:
        problem = f"launch result is for {result.document['details']['sweep_identity']}"
    if problem is None and result.document["status"] == "ok":
        details = result.document["details"]
        builder.resolve(record["id"], "consumed")
        builder.set("/current_sweep", dict(sweep, sweep_id=details["sweep_id"], sweep_url=details["sweep_url"],
                                           status="running", launched_at=details["launched_at"],
                                           resources_live=True))
        ensure_ledger_entry(builder, state, inputs, sweep["sweep_identity"])
        how = "Reconnected to" if details["reconnected"] else "Launched"
        return builder.advance("WAIT_FOR_SWEEP", "request_poll", f"{how} {sweep['sweep_identity']} "
                               f"({details['sweep_id']}, run cap {details['run_cap']}).")
    builder.resolve(record["id"], "rejected")
    why = problem or executor_error(result.document)
    if (problem is not None or is_retryable(result.document)) and record["attempt"] < MAX_EXECUTOR_ATTEMPTS:
        budget = capped_budget(state, campaign)
        refusal = _launch_refusal(campaign, budget)
        if refusal:
            return builder.terminal("COMPLETE", refusal, campaign, limits=["budget"],
                                resume_state="LAUNCH_SWEEP", resume_phase="request_launch")
        # Same identity: the executor reconnects to a sweep the failed attempt may have created.
        purpose, identity, config = planned_launch(state, campaign, inputs)
        builder.directive("launch_sweep", launch_payload(state, campaign, budget, purpose, identity, config))
        return builder.retry(record["attempt"], MAX_EXECUTOR_ATTEMPTS, 0,
                             f"Launch attempt {record['attempt']} failed ({why}); launching again as "
                             f"{sweep['sweep_identity']}.")
    return builder.terminal("FAILED", f"Launch of {sweep['sweep_identity']} failed after {record['attempt']} "
                            f"attempt(s): {why}", campaign)


PHASES = {
    ("LOCAL_SANITY", "request_smoke_test"): local_sanity.request_smoke_test,
    ("LOCAL_SANITY", "gate_smoke_test"): local_sanity.gate_smoke_test,
    ("LAUNCH_SWEEP", "request_launch"): request_launch,
    ("LAUNCH_SWEEP", "confirm_launch"): confirm_launch,
    ("WAIT_FOR_SWEEP", "request_poll"): remote_sweep.request_poll,
    ("WAIT_FOR_SWEEP", "gate_poll"): remote_sweep.gate_poll,
    ("ANALYZE", "plan_analysis"): remote_analysis.plan_analysis,
    ("ANALYZE", "finalize_analysis"): remote_analysis.finalize_analysis,
}


def handoff(state, campaign, inputs) -> dict:
    return run_phase(machine.REMOTE, PHASES, state, campaign, inputs)
