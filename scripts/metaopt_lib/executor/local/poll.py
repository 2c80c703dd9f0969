"""poll_sweep for the local backend: progress from the study, liveness from the runner lock, spend
from two clocks, and the budget stop."""
from __future__ import annotations

from ...contract.bounds import max_bytes
from ...contract.regular_files import FileRefused, read_regular
from ..failure_details import failure_details
from ..outcome import ExecError, Outcome, campaign_spend_after, parse_timestamp, timestamp
from ..records import RecordError
from .launch import start_runner
from .processes import sweep_pids
from .search_space import plan_search
from ..trial_table import write_trial_table
from .study import open_study, summarize, trial_rows, trial_seconds
from .sweep import MAX_RUNNER_GENERATIONS, SweepFiles, read_spec, read_status, runner_alive

STATUS_FOR_STOP = {"canceled": "canceled", "failed": "failed"}


def _stop_moment(files: SweepFiles):
    try:
        data = read_regular(files.stop_request, str(files.stop_request), max_bytes("small-text"), files.project_root)
        return parse_timestamp(data.decode("utf-8").strip())
    except (FileRefused, ValueError):
        return None


def _spend_sources(spec, status, status_ok, files, now):
    """Two clocks: the launch record (launched_at to the end or now) and the runner's own figure."""
    end = now
    if status is not None and status["ended_at"] is not None:
        end = parse_timestamp(status["ended_at"])
    elif files.stop_request.exists():
        end = _stop_moment(files) or now
    hours = max(0.0, (end - parse_timestamp(spec["launched_at"])).total_seconds()) / 3600
    sources = [{"name": "launch-clock", "ok": True, "usd": round(spec["hourly_cost_usd"] * hours, 6)}]
    runner_ok = status_ok and status is not None
    sources.append({"name": "runner-status", "ok": runner_ok, "usd": status["spend_usd"] if runner_ok else None})
    return sources


def _newly_killed(study, directive_id) -> list:
    """Run ids the watchdog killed that no other poll directive has reported yet."""
    reported = dict(study.user_attrs.get("reported_kills", {}))
    killed = [t.user_attrs.get("run_id") for t in study.get_trials(deepcopy=False)
              if t.user_attrs.get("outcome") == "killed" and t.user_attrs.get("run_id")]
    fresh = [rid for rid in killed if reported.get(rid, directive_id) == directive_id]
    if any(rid not in reported for rid in fresh):
        reported.update({rid: directive_id for rid in fresh})
        study.set_user_attr("reported_kills", reported)
    return fresh


def poll_details(directive, ctx, files: SweepFiles, stop_everything) -> Outcome:
    payload = directive["payload"]
    now = ctx.now()
    polled_at = timestamp(now)
    spec = read_spec(files)
    if spec is None:
        # Nothing of this sweep exists here, so nothing runs or bills.
        return Outcome(dict(failure_details(directive, polled_at), resources_live=False),
                       ExecError("sweep-not-found", f"no local sweep {payload['sweep_identity']} was launched here",
                                 False))
    status_ok, status = True, None
    try:
        status = read_status(files)
    except RecordError:
        status_ok = False
    stopped = files.stop_request.exists()
    gave_up = False
    if status_ok and not stopped and not runner_alive(files) and (status is None or status["state"] == "running"):
        if (status["generation"] if status else 0) >= MAX_RUNNER_GENERATIONS:
            gave_up = True
        elif start_runner(files, spec, ctx.env):
            status = read_status(files)
    plan = plan_search(spec["sweep_config"], str(files.spec), ("sweep_config",))
    study = open_study(files, spec, plan)
    summary = summarize(study, plan.direction)
    config = spec["sweep_config"]
    write_trial_table(files.project_root, payload["sweep_identity"], "local",
                      {"method": config["method"], "parameters": config["parameters"]}, trial_rows(study), now)
    sources = _spend_sources(spec, status, status_ok, files, now)
    sweep_usd = max(s["usd"] for s in sources if s["ok"])
    budget = campaign_spend_after(payload["budget"], payload["recorded_sweep_spend_usd"], sweep_usd)
    if gave_up:
        stop_everything(files, polled_at)
        sweep_status, stop_reason = "failed", "failed"
    elif budget["spent_usd"] >= budget["max_budget_usd"]:
        stop_everything(files, polled_at)
        sweep_status, stop_reason = "budget_exceeded", "budget"
    elif status is not None and status["state"] == "finished":
        stop_reason = status["stop_reason"]
        sweep_status = STATUS_FOR_STOP.get(stop_reason, "finished")
    elif stopped:
        sweep_status, stop_reason = "canceled", "canceled"
    else:
        sweep_status, stop_reason = "running", None
    details = {"sweep_identity": payload["sweep_identity"], "sweep_id": spec["sweep_id"],
               "sweep_status": sweep_status, "stop_reason": stop_reason, "trials": summary["trials"],
               "best_run": summary["best_run"],
               "spend": {"sweep_spend_usd": sweep_usd, "complete": all(s["ok"] for s in sources), "sources": sources},
               "budget": budget, "idle_killed": _newly_killed(study, directive["directive_id"]),
               "resources_live": runner_alive(files) or bool(sweep_pids(files)), "polled_at": polled_at,
               "runner_restarts": max(0, (status["generation"] if status else 1) - 1),
               "trial_seconds": trial_seconds(study)}
    if not details["spend"]["complete"]:
        return Outcome(details, ExecError("spend-listing-failed", f"the runner status of {spec['sweep_identity']} "
                                          "is unreadable; spend counted from the launch clock only", True))
    return Outcome(details)
