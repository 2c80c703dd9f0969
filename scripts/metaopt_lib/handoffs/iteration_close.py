"""metaopt-iteration-close-control: ROLL_ITERATION / roll_iteration.

Records the finished iteration once, moves the baseline only to a better value (beyond the noise
floor when one was measured), updates the no-improvement streak, carries the learnings, asks for the
iteration report, and checks the stop conditions before the next iteration can spend anything. At a
stop with honesty.random_search_control on, the budget-matched control runs first (LAUNCH_SWEEP);
its end brings the campaign back here, and the stop is made.
"""
from __future__ import annotations

from ..contract import machine
from ..contract.campaign import launch_reservation
from ..contract.improvement import judge
from ..contract.state_views import budget_snapshot, effective_baseline, improves, iteration_closed
from . import honesty
from .common import run_phase


def iteration_report_path(iteration) -> str:
    return f".ml-metaopt/reports/iteration-{iteration}.md"


def roll_iteration(state, campaign, inputs, builder):
    iteration = state["iteration"]
    if iteration_closed(state):
        # Already counted (the state was restored after the roll was recorded): never count twice.
        baseline, streak, new = effective_baseline(state), state["no_improve_streak"], []
    else:
        baseline, streak, record = _close_iteration(state, campaign, builder)
        new = [record]
    builder.directive("emit_iteration_report", {"report_path": iteration_report_path(iteration)})
    stops = stop_conditions(state, campaign, baseline, streak)
    if stops:
        note = honesty.control_line(state.get("control")) if honesty.control_ran(state) else ""
        records = inputs.history.records("iterations") + new if honesty.control_on(campaign) else new
        if honesty.control_due(state, campaign, records):
            parameters, why_not = honesty.control_space(campaign, inputs, records)
            if any(kind == "budget" for kind, _ in stops):
                note = "the random-search control did not run: no budget is left for it"
            elif parameters is None:
                note = f"the random-search control did not run: {why_not}"
            else:
                return builder.advance("LAUNCH_SWEEP", "request_launch", "; ".join(text for _, text in stops) +
                                       f"; first the random-search control with the campaign's "
                                       f"{honesty.trial_budget(records)} trials.")
        return _stop(builder, campaign, stops, note)
    builder.set("/iteration", iteration + 1)
    return builder.advance("IDEATE", "plan_ideation", f"Iteration {iteration} closed; starting iteration "
                           f"{iteration + 1} (no-improvement streak {streak}).")


def _close_iteration(state, campaign, builder):
    """Patch the history, baseline, streak and learnings; return the baseline and streak after, and the
    iteration's record."""
    iteration, analysis = state["iteration"], state["analysis"]
    objective = campaign["objective"]
    best, baseline = analysis["best_run"], effective_baseline(state)
    noise = iteration_noise(state)
    value = best["metric_value"] if best else None
    if noise is not None and best is not None:
        verdict = judge(value, baseline["metric_value"] if baseline else None, objective["direction"],
                        objective["improvement_threshold"], noise, noise["sd_multiple"])
        improved, value = verdict.adopted, verdict.value
    else:
        # analysis.improved was computed by the code; checking again here keeps the baseline from ever
        # moving to a worse value, whatever the record says.
        improved = bool(analysis["improved"] and best is not None and improves(
            value, baseline["metric_value"] if baseline else None,
            objective["direction"], objective["improvement_threshold"]))
    if improved:
        baseline = {"metric_value": value, "source": "sweep", "iteration": iteration,
                    "run_id": best["run_id"], "run_url": best.get("run_url"), "config": best["config"]}
        builder.set("/baseline", baseline)
    streak = 0 if improved else state["no_improve_streak"] + 1
    record = {"iteration": iteration, "sweep_identity": analysis["sweep_identity"],
              "proposal_id": state["selected_sweep"]["proposal_id"], "best_run": best, "improved": improved,
              "baseline_after": baseline["metric_value"] if baseline else None,
              "spend_usd": _sweep_spend(state, analysis["sweep_identity"])}
    if "proposal_content_hash" in state["selected_sweep"]:
        record["proposal_content_hash"] = state["selected_sweep"]["proposal_content_hash"]
    sweep = state["current_sweep"]
    if "trials" in analysis:
        record.update(trials=analysis["trials"], runner_restarts=analysis.get("runner_restarts", 0),
                      sweep_url=analysis.get("sweep_url"))
    elif sweep is not None and sweep["sweep_identity"] == analysis["sweep_identity"]:
        record.update(trials=sweep["trials"], runner_restarts=sweep.get("runner_restarts", 0))
    if noise is not None:
        record.update(noise_floor=noise, noise_spend_usd=_sweep_spend(state, noise["sweep_identity"]))
    builder.append("/completed_iterations", record)
    builder.set("/no_improve_streak", streak)
    for text in analysis["learnings"]:
        builder.append("/learnings", {"iteration": iteration, "text": text})
    return baseline, streak, record


def iteration_noise(state):
    """This iteration's noise floor, or None when none was measured."""
    noise = state.get("noise_floor")
    return noise if noise is not None and noise["iteration"] == state["iteration"] else None


def _stop(builder, campaign, stops, note=""):
    reason = "; ".join([text for _, text in stops] + ([note] if note else [])) + "."
    return builder.terminal("COMPLETE", reason, campaign, limits=[kind for kind, _ in stops] or None,
                            resume_state="ROLL_ITERATION", resume_phase="roll_iteration")


def stop(state, campaign, builder, note):
    """COMPLETE on the stop conditions that hold now, with `note`; resumable at the iteration close.
    For a phase after ROLL_ITERATION that cannot go on with the stop (the control's space is gone)."""
    return _stop(builder, campaign, stop_conditions(state, campaign, effective_baseline(state),
                                                    state["no_improve_streak"]), note)


def _sweep_spend(state, identity) -> float:
    for entry in state["spend_ledger"]["entries"]:
        if entry["sweep_identity"] == identity:
            return entry["usd"]
    return 0


def stop_conditions(state, campaign, baseline, streak) -> list:
    """Every stop condition that holds, as (limit, text with its numbers). metaopt.py resume checks
    them again before it continues a campaign that one of them stopped."""
    stops, conditions = [], campaign["stop_conditions"]
    metric, direction = campaign["objective"]["metric"], campaign["objective"]["direction"]
    target = conditions.get("target_metric")
    if target is not None and baseline is not None:
        value = baseline["metric_value"]
        if (value >= target) if direction == "maximize" else (value <= target):
            stops.append(("target_metric",
                          f"target_metric reached: best {metric} {value:g} vs target {target:g} ({direction})"))
    if state["iteration"] >= conditions["max_iterations"]:
        stops.append(("max_iterations", f"max_iterations reached ({conditions['max_iterations']})"))
    if streak >= conditions["no_improve_iterations"]:
        stops.append(("no_improve_iterations",
                      f"no_improve_iterations reached: {streak} iteration(s) in a row without improvement"))
    ledger = dict(state["spend_ledger"], max_budget_usd=campaign["compute"]["max_budget_usd"])
    budget = budget_snapshot({"spend_ledger": ledger})
    reservation = launch_reservation(campaign)
    if budget["remaining_usd"] <= 0 or reservation > budget["remaining_usd"]:
        # Stop before the next iteration's LLM work when its launch could not be paid for anyway.
        stops.append(("budget", f"budget exhausted: ${budget['spent_usd']:g} of ${budget['max_budget_usd']:g} "
                                f"spent, ${budget['remaining_usd']:g} left cannot pay the next launch "
                                f"(${reservation:g})"))
    return stops


PHASES = {("ROLL_ITERATION", "roll_iteration"): roll_iteration}


def handoff(state, campaign, inputs) -> dict:
    return run_phase(machine.CLOSE, PHASES, state, campaign, inputs)