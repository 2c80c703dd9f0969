"""The local backend (compute.backend: local): sweeps run on this machine under a detached runner,
with Optuna as the search engine and wall-clock hours × the campaign's hourly cost as spend."""
from __future__ import annotations

import os
import signal
import sys
import time

from ...contract.campaign_secrets import SecretUnavailable, read_campaign, real_value
from ...contract.conventions import one_line
from ...contract.paths import METAOPT_DIR_NAME
from ...contract.process_group import NO_PROCESS_LISTING, process_listing
from ..dependencies import MissingDependency, require_optuna
from ..outcome import SWEEPS_AREA, ExecContext, ExecError, Outcome, timestamp
from ..records import RecordError, SweepLock, write_record
from .launch import runner_resource, seed_for, start_runner, sweep_id_for
from .poll import poll_details
from .processes import kill_pids, sweep_pids
from .search_space import SearchSpaceError, plan_search
from .sweep import SPEC_SCHEMA, SweepFiles, read_spec, read_status, runner_alive

RUNNER_STOP_GRACE_SECONDS = 10.0
POLL_WAIT_STEP_SECONDS = 0.2


def _files(directive, ctx: ExecContext) -> SweepFiles:
    return SweepFiles(ctx.sweep_dir(directive["payload"]["sweep_identity"]))


def _launch_details(payload, spec, reconnected, started, resources, launched_at) -> dict:
    return {"sweep_identity": payload["sweep_identity"], "sweep_id": spec["sweep_id"] if spec else None,
            "sweep_url": None, "backend": "local", "reconnected": reconnected,
            "run_cap": payload["sweep_config"]["run_cap"], "agents_started": started, "resources": resources,
            "launched_at": launched_at}


def new_spec(directive, ctx: ExecContext) -> dict:
    payload = directive["payload"]
    local = payload["local"]
    purpose = {"purpose": payload["purpose"]} if "purpose" in payload else {}
    return {"schema_version": 1, "sweep_identity": payload["sweep_identity"], **purpose,
            "sweep_id": sweep_id_for(payload["sweep_identity"]), "launched_at": timestamp(ctx.now()),
            "repo": local["repo"], "program": payload["sweep_config"]["program"],
            "command": payload["sweep_config"].get("command") or ["${env}", "${interpreter}", "${program}", "${args}"],
            "sweep_config": payload["sweep_config"], "num_agents": payload["num_agents"],
            "idle_timeout_seconds": payload["idle_timeout_minutes"] * 60,
            "wall_clock_seconds": local["max_wall_clock_minutes"] * 60, "hourly_cost_usd": local["hourly_cost_usd"],
            "budget_usd": payload["budget"]["remaining_usd"], "seed": seed_for(payload["sweep_identity"]),
            "interpreter": sys.executable}


def _refusal(directive, ctx):
    """Why a new local sweep cannot start, checked before anything is written; or None."""
    payload = directive["payload"]
    try:
        plan_search(payload["sweep_config"], "directive", ("payload", "sweep_config"))
        require_optuna()
    except SearchSpaceError as exc:
        more = f" (and {len(exc.issues) - 1} more problem(s))" if len(exc.issues) > 1 else ""
        return ExecError("search-space-unsupported", one_line(exc.issues[0].message + more), False)
    except MissingDependency as exc:
        return ExecError("dependency-missing", one_line(str(exc)), False)
    repo = (ctx.project_root / payload["local"]["repo"]).resolve()
    if not repo.is_dir() or not repo.is_relative_to(ctx.project_root.resolve()):
        return ExecError("repo-missing", one_line(f"training repository {payload['local']['repo']!r} is not a "
                                                   "directory under the project root; fix project.repo"), False)
    try:  # the runner takes the command's secrets from the campaign file: they must still be there
        real_value(payload["sweep_config"].get("command"), read_campaign(ctx.project_root), ("project", "command"))
    except SecretUnavailable as exc:
        return ExecError("command-unavailable", one_line(str(exc)), False)
    return None


def launch(directive, ctx: ExecContext) -> Outcome:
    payload = directive["payload"]
    files = _files(directive, ctx)
    with SweepLock(files.executor_lock):
        spec = read_spec(files)
        reconnected = spec is not None
        if spec is None:
            refusal = _refusal(directive, ctx)
            if refusal:
                return Outcome(_launch_details(payload, None, False, 0, [], timestamp(ctx.now())), refusal)
            spec = new_spec(directive, ctx)
            write_record(files.spec, SPEC_SCHEMA, spec)  # intent first: a re-run reconnects to it
        status = read_status(files)
        over = files.stop_request.exists() or (status is not None and status["state"] == "finished")
        started = 0
        if not over and not runner_alive(files):
            if not start_runner(files, spec, ctx.env):
                error = ExecError("runner-start-failed", f"the local sweep runner did not start; see {files.runner_log}",
                                  True)
                return Outcome(_launch_details(payload, spec, reconnected, 0, [], spec["launched_at"]), error)
            started = payload["num_agents"]
        resources = [runner_resource(spec)] if runner_alive(files) else []
        return Outcome(_launch_details(payload, spec, reconnected, started, resources, spec["launched_at"]))


def poll(directive, ctx: ExecContext) -> Outcome:
    files = _files(directive, ctx)
    wait_for_the_end(files, ctx.poll_wait_seconds(directive))
    with SweepLock(files.executor_lock):
        return poll_details(directive, ctx, files, stop_everything)


def wait_for_the_end(files: SweepFiles, seconds: float) -> None:
    """Hold the poll open for up to `seconds` while the runner works, so the end of a sweep is seen at
    once; return as soon as the runner has stopped (finished, stopped at a cap, or died: the poll then
    restarts it) or a stop was requested."""
    deadline = time.monotonic() + seconds
    while runner_alive(files) and not files.stop_request.exists():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(POLL_WAIT_STEP_SECONDS, left))


def stop_everything(files: SweepFiles, moment: str) -> list:
    """Ask the runner to stop, give it time to stop its trials and write its final status, then kill
    whatever is left of the sweep. Returns the pids still alive afterwards."""
    if not files.stop_request.exists():
        files.stop_request.write_text(moment + "\n", encoding="utf-8")
    try:
        status = read_status(files)
    except RecordError:
        status = None
    if status is not None and runner_alive(files):
        try:
            os.kill(status["runner_pid"], signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + RUNNER_STOP_GRACE_SECONDS
        while runner_alive(files) and time.monotonic() < deadline:
            time.sleep(0.05)
    for _ in range(3):
        pids = sweep_pids(files)
        if not pids:
            break
        kill_pids(pids)
        time.sleep(0.05)
    return sweep_pids(files)


def teardown(directive, ctx: ExecContext) -> Outcome:
    payload = directive["payload"]
    files = _files(directive, ctx)
    with SweepLock(files.executor_lock):
        spec = read_spec(files)
        live_before = bool(sweep_pids(files)) or runner_alive(files)
        remaining = stop_everything(files, timestamp(ctx.now()))
    released = [runner_resource(spec)] if spec and live_before and not remaining else []
    left = [{"kind": "process", "name": f"pid-{pid}"} for pid in remaining]
    details = {"sweep_identity": payload["sweep_identity"], "sweep_stopped": True,
               "resources_released": released, "resources_remaining": left}
    if left:
        return Outcome(details, ExecError("teardown-incomplete", f"{len(left)} process(es) of the sweep survived "
                                          f"SIGKILL: {', '.join(r['name'] for r in left[:5])}", True))
    return Outcome(details)


def plan(directive, ctx: ExecContext) -> dict:
    payload, kind = directive["payload"], directive["type"]
    # Not ctx.sweep_dir(): a dry run creates no directory.
    files = SweepFiles(ctx.project_root / METAOPT_DIR_NAME / SWEEPS_AREA / payload["sweep_identity"])
    if kind == "launch_sweep":
        refusal = None if files.spec.exists() else _refusal(directive, ctx)
        return {"would": "reconnect to the existing local sweep" if files.spec.exists()
                else f"start a local runner for {payload['num_agents']} parallel trial(s)",
                "sweep_dir": str(files.root), "refusal": refusal.as_dict() if refusal else None}
    if kind == "poll_sweep":
        return {"would": "read the sweep's study and status; restart a dead runner; stop everything at the budget",
                "sweep_dir": str(files.root)}
    found = {"would": "stop the runner and kill every process of the sweep", "sweep_dir": str(files.root),
             "processes": sweep_pids(files) if files.root.exists() else [],
             "process_listing": process_listing()}
    if found["process_listing"] is None:
        found["not_found"] = NO_PROCESS_LISTING
    return found
