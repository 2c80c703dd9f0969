"""ANALYZE of metaopt-remote-execution-control: dispatch the analysis worker with the final poll's
best run, then record its explanation and learnings. Whether the baseline improved is decided here,
in code; the worker's "improved" is kept only as its advisory claim."""
from __future__ import annotations

from ..contract.state_views import effective_baseline, improves, pending_of
from . import honesty
from .history import trial_history
from .trial_summary import summarize_trials
from .worker_gate import gate_worker_results

ANALYSIS_WORKER = "metaopt-analysis-worker"


def analysis_context(state, campaign, inputs) -> dict:
    sweep = state["current_sweep"]
    keep = campaign["proposal_policy"]["max_learnings_in_context"]
    table = inputs.trial_table(sweep["sweep_identity"])
    summary = {} if table is None else {
        "trial_summary": summarize_trials(table["trials"], campaign["objective"]["direction"])}
    return {**summary, "sweep_identity": sweep["sweep_identity"], "sweep_url": sweep["sweep_url"],
            "sweep_config": state["selected_sweep"]["sweep_config"], "best_run": sweep["best_run"],
            "trials": {key: sweep["trials"].get(key, 0) for key in ("finished", "failed", "killed", "interrupted")},
            "runner_restarts": sweep.get("runner_restarts", 0), "baseline": effective_baseline(state),
            "learnings": inputs.history.tail("learnings", keep),
            "history": trial_history(state, inputs, campaign["objective"]["direction"], only_current=True)}


def plan_analysis(state, campaign, inputs, builder):
    for record in pending_of(state, ANALYSIS_WORKER):
        builder.resolve(record["id"], "superseded")
    builder.worker(ANALYSIS_WORKER, campaign, analysis_context(state, campaign, inputs))
    return builder.advance("ANALYZE", "finalize_analysis",
                           f"Analyze {state['current_sweep']['sweep_identity']} against the baseline.")


def finalize_analysis(state, campaign, inputs, builder):
    gate = gate_worker_results(state, campaign, inputs, builder, ANALYSIS_WORKER,
                               lambda _record: analysis_context(state, campaign, inputs))
    if gate.accepted:
        return _record_analysis(state, campaign, builder, gate.accepted[-1][1])
    if builder.launches:
        return builder.advance("ANALYZE", "finalize_analysis", f"Analysis retried: {gate.problems[0]}")
    if gate.exhausted:
        return builder.blocked("BLOCKED_PROTOCOL", "worker-attempts-exhausted",
                               f"metaopt-analysis-worker gave no usable result: {gate.problems[0]}",
                               "Check the analysis worker (its task and result files under .ml-metaopt/), "
                               "then run metaopt.py resume.", campaign, "ANALYZE", "plan_analysis")
    if gate.waiting:
        if builder.resolved:
            return builder.advance("ANALYZE", "finalize_analysis", "Analysis results recorded; more pending.")
        return builder.wait([r["id"] for r in gate.waiting], gate.until,
                            "Waiting for metaopt-analysis-worker: dispatch its task, then step again.")
    return plan_analysis(state, campaign, inputs, builder)


def _record_analysis(state, campaign, builder, document):
    sweep = state["current_sweep"]
    best = sweep["best_run"]
    baseline = effective_baseline(state)
    objective = campaign["objective"]
    improved = improves(best["metric_value"] if best else None, baseline["metric_value"] if baseline else None,
                        objective["direction"], objective["improvement_threshold"])
    builder.set("/analysis", {"iteration": state["iteration"], "sweep_identity": sweep["sweep_identity"],
                              "best_run": best, "improved": improved,
                              "worker_claimed_improved": document["improved"],
                              "explanation": document["best_run_explanation"],
                              "learnings": document["learnings"], "trials": sweep["trials"], "sweep_url": sweep["sweep_url"],
                              "runner_restarts": sweep.get("runner_restarts", 0)})
    verdict = "improved" if improved else "did not improve"
    if document["improved"] != improved:
        verdict += f" (the worker claimed {'it did' if document['improved'] else 'it did not'}; the code decides)"
    settings = honesty.noise_settings(campaign)
    if settings and best is not None:
        return builder.advance("LAUNCH_SWEEP", "request_launch", f"{sweep['sweep_identity']}'s best run "
                               f"{best['run_id']} ({best['metric_value']:g}); re-run its configuration "
                               f"{settings['repeats']} times: the mean of the re-runs, against the threshold and "
                               "the noise floor, decides whether the baseline moves.")
    return builder.advance("ROLL_ITERATION", "roll_iteration", f"{sweep['sweep_identity']} {verdict}.")
