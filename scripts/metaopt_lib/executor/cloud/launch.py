"""launch_sweep for the skypilot backend: create the W&B sweep (or reconnect to it) and start one
cluster per agent, writing each intent to the record before its side effect.

Recovery rules: a sweep whose creation was recorded but not confirmed is looked up by name; a cluster
whose launch was recorded is launched again only when SkyPilot does not list it; a launch that fails
stops the sweep and downs every cluster before it reports, and a retry starts a fresh sweep (attempt
+1, new cluster names) because the stopped one is never reused.
"""
from __future__ import annotations

from pathlib import Path

from ..outcome import ExecContext, Outcome, timestamp
from . import record as cloud_record
from .adapter import CloudAdapter, CloudError, SweepInfo
from .common import describe, down_everything, exec_error, live_resources
from .record import cluster_entry, creating_sweep, new_cluster, new_record, save
from .spend import adopt_listed
from .task import WANDB_SECRET, agent_run_count, cluster_name, cluster_prefix, task_config

ACTIVE_SWEEP_STATES = ("pending", "running")


class _Refused(Exception):
    def __init__(self, code: str, message: str, retryable: bool = False):
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


def details(payload: dict, record: dict | None, reconnected: bool, started: int, now, downed=()) -> dict:
    sweep = record["sweep"] if record else {"sweep_id": None, "url": None, "created_at": None}
    return {"sweep_identity": payload["sweep_identity"], "sweep_id": sweep["sweep_id"], "sweep_url": sweep["url"],
            "backend": "skypilot", "reconnected": reconnected, "run_cap": payload["sweep_config"]["run_cap"],
            "agents_started": started, "resources": live_resources(record, downed),
            "launched_at": sweep["created_at"] or timestamp(now)}


def refusal(payload: dict, ctx: ExecContext) -> tuple | None:
    """(code, message) when the launch cannot start at all, checked before anything is written."""
    if not ctx.env.get(WANDB_SECRET):
        return ("wandb-api-key-missing", f"{WANDB_SECRET} is not set in the executor's environment; export it "
                "(the key is passed to each machine as a SkyPilot secret and never written to a file)")
    repo = (Path(ctx.project_root) / payload["skypilot"]["repo"]).resolve()
    if not repo.is_dir() or not repo.is_relative_to(Path(ctx.project_root).resolve()):
        return ("repo-missing", f"training repository {payload['skypilot']['repo']!r} is not a directory under "
                "the project root; fix project.repo")
    return None


def workdir(payload: dict, ctx: ExecContext) -> str:
    return str((Path(ctx.project_root) / payload["skypilot"]["repo"]).resolve())


def _check_budget(payload: dict, machines: int) -> None:
    """The control plane's reservation rule: the remaining budget pays one hour of every new machine."""
    need = round(payload["skypilot"]["max_hourly_cost_usd"] * machines, 6)
    remaining = payload["budget"]["remaining_usd"]
    if machines and remaining < need:
        raise _Refused("launch-budget-insufficient", f"starting {machines} machine(s) reserves ${need:g} (one hour "
                       f"at ${payload['skypilot']['max_hourly_cost_usd']:g}/h each) but ${remaining:g} remains")


def _create(payload: dict, ctx: ExecContext, adapter: CloudAdapter, record: dict) -> SweepInfo:
    config = dict(payload["sweep_config"], name=payload["sweep_identity"])
    info = adapter.create_sweep(record["wandb"]["entity"], record["wandb"]["project"], config)
    _adopt_sweep(ctx, record, info)
    return info


def _adopt_sweep(ctx: ExecContext, record: dict, info: SweepInfo) -> None:
    record["sweep"].update(phase="created", sweep_id=info.sweep_id, url=info.url,
                           created_at=timestamp(info.created_at or ctx.now()))
    save(ctx, record)


def ensure_sweep(payload: dict, ctx: ExecContext, adapter: CloudAdapter, record: dict | None) -> tuple:
    """(record, SweepInfo, reconnected): the sweep of this identity, created only when none is found."""
    entity, project, identity = payload["wandb"]["entity"], payload["wandb"]["project"], payload["sweep_identity"]
    if record is None:
        _check_budget(payload, payload["num_agents"])
        if adapter.find_sweep(entity, project, identity) is not None:
            raise _Refused("sweep-name-taken", f"a W&B sweep named {identity} already exists in {entity}/{project} "
                           "but this project has no record of creating it; delete or rename that sweep, or rename "
                           "the campaign")
        record = new_record(payload, cluster_prefix(identity), ctx.now())
        save(ctx, record)  # intent: a crash from here on finds the sweep by name
        return record, _create(payload, ctx, adapter, record), False
    sweep = record["sweep"]
    if sweep["phase"] == "creating" and sweep["stop_reason"] is not None:
        raise _Refused("sweep-stopped", f"{identity} was stopped ({sweep['stop_reason']}) before its sweep was "
                       "confirmed; a stopped identity is never launched again")
    if sweep["phase"] == "creating":
        found = adapter.find_sweep(entity, project, identity)
        if found is not None and found.sweep_id not in record["abandoned_sweep_ids"]:
            _adopt_sweep(ctx, record, found)
            return record, found, True
        _check_budget(payload, payload["num_agents"])
        return record, _create(payload, ctx, adapter, record), False
    if sweep["stop_reason"] == "launch-failed":
        _check_budget(payload, payload["num_agents"])
        record["abandoned_sweep_ids"].append(sweep["sweep_id"])
        record["attempt"] += 1
        record["sweep"] = creating_sweep(ctx.now())
        save(ctx, record)
        return record, _create(payload, ctx, adapter, record), False
    return record, adapter.get_sweep(entity, project, sweep["sweep_id"]), True


def _agents_to_start(payload: dict, record: dict, listed: set) -> list:
    """Agent numbers without a cluster: never launched, or launch recorded but not listed by SkyPilot.
    A recorded launch that SkyPilot lists counts as started (its request runs on even if we crashed)."""
    missing = []
    for index in range(1, payload["num_agents"] + 1):
        entry = cluster_entry(record, cluster_name(payload["sweep_identity"], record["attempt"], index))
        if entry is not None and entry["launch"] == "intended" and entry["name"] in listed:
            entry["launch"] = "adopted"
        elif entry is None or entry["launch"] == "intended":
            missing.append(index)
    return missing


def start_agents(payload: dict, ctx: ExecContext, adapter: CloudAdapter, record: dict, info: SweepInfo,
                 reconnected: bool) -> Outcome:
    now = ctx.now()
    try:
        clusters = adapter.list_clusters(record["cluster_prefix"])
    except CloudError as exc:
        return Outcome(details(payload, record, reconnected, 0, now),
                       exec_error("cluster-listing-failed", f"cannot tell which agents run: {exc}", True, ctx))
    listed = {c.name for c in clusters}
    adopt_listed(record, clusters, None, now)
    missing = []
    if info.state.lower() in ACTIVE_SWEEP_STATES and record["sweep"]["stop_reason"] is None:
        missing = _agents_to_start(payload, record, listed)
    save(ctx, record)
    # Clusters already downed that SkyPilot no longer lists are not reported live.
    gone = [e["name"] for e in record["clusters"] if e["down_requested_at"] is not None and e["name"] not in listed]
    if reconnected:
        try:
            _check_budget(payload, len(missing))
        except _Refused as refused:
            return Outcome(details(payload, record, reconnected, 0, now, gone),
                           exec_error(refused.code, refused.message, refused.retryable, ctx))
    started = 0
    count = agent_run_count(payload["sweep_config"]["run_cap"], payload["num_agents"])
    for index in missing:
        name = cluster_name(payload["sweep_identity"], record["attempt"], index)
        entry = cluster_entry(record, name)
        if entry is None:
            entry = new_cluster(name, record["attempt"], index, "intended", ctx.now())
            record["clusters"].append(entry)
        entry["launch"] = "intended"
        save(ctx, record)  # intent before the machine is rented
        config = task_config(cluster=name, entity=record["wandb"]["entity"], project=record["wandb"]["project"],
                             sweep_id=info.sweep_id, skypilot=payload["skypilot"], workdir=workdir(payload, ctx),
                             idle_timeout_minutes=payload["idle_timeout_minutes"], agent_count=count)
        try:
            adapter.launch_cluster(name, config, {WANDB_SECRET: ctx.env[WANDB_SECRET]})
        except CloudError as exc:
            entry["launch"] = "failed"
            save(ctx, record)
            return _roll_back(payload, ctx, adapter, record, reconnected, started, name, exc)
        entry["launch"] = "returned"
        save(ctx, record)
        started += 1
    return Outcome(details(payload, record, reconnected, started, ctx.now(), gone))


def _roll_back(payload, ctx, adapter, record, reconnected, started, name, exc) -> Outcome:
    downed, problems = down_everything(adapter, ctx, record, "launch-failed", "rollback")
    message = f"launching {name} failed ({exc}); stopped the sweep and downed {len(downed)} cluster(s)"
    if problems:
        message += f"; rollback incomplete: {describe(problems)}"
    # A rollback that left something up is not retried blindly: the control plane tears down instead.
    retryable = exc.retryable and not problems
    return Outcome(details(payload, record, reconnected, started, ctx.now(), downed),
                   exec_error("launch-failed", message, retryable, ctx))


def run_launch(payload: dict, ctx: ExecContext, adapter: CloudAdapter) -> Outcome:
    record = cloud_record.load(ctx, payload["sweep_identity"])
    if record is not None and record["wandb"] != payload["wandb"]:
        return Outcome(details(payload, record, True, 0, ctx.now()),
                       exec_error("record-mismatch", f"{payload['sweep_identity']} was launched in "
                                  f"{record['wandb']['entity']}/{record['wandb']['project']}, not "
                                  f"{payload['wandb']['entity']}/{payload['wandb']['project']}; tear it down "
                                  "before changing the W&B project", False, ctx))
    refused = refusal(payload, ctx)
    if refused is not None:
        return Outcome(details(payload, record, False, 0, ctx.now()), exec_error(*refused, False, ctx))
    try:
        record, info, reconnected = ensure_sweep(payload, ctx, adapter, record)
    except _Refused as refused:
        error = exec_error(refused.code, refused.message, refused.retryable, ctx)
    except CloudError as exc:
        error = exec_error(exc.code, f"W&B sweep step failed: {exc.message}", exc.retryable, ctx)
    else:
        return start_agents(payload, ctx, adapter, record, info, reconnected)
    return Outcome(details(payload, cloud_record.load(ctx, payload["sweep_identity"]), False, 0, ctx.now()), error)
