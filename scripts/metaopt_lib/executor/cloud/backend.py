"""The skypilot backend (compute.backend: skypilot): a W&B sweep run by one `wandb agent` per Vast.ai
machine, each machine a SkyPilot cluster.

launch / poll / teardown carry out a validated directive and return an Outcome; every cloud call goes
through a CloudAdapter (the real one by default, a recorded fake in tests). plan answers --dry-run from
the directive and the local record alone, without any cloud call. The executor's own record of the
sweep lives in .ml-metaopt/sweeps/<identity>/cloud.json (schema cloud-sweep-record).
"""
from __future__ import annotations

from ...contract.campaign_secrets import SecretUnavailable, read_campaign, real_value
from ...contract.conventions import one_line
from ..outcome import ExecContext, ExecError, Outcome
from ..records import RecordError
from . import record as cloud_record
from .adapter import CloudAdapter
from .common import default_adapter, live_resources
from .launch import details as launch_details, refusal, run_launch, workdir
from .poll import run_poll
from .record import record_lock
from .task import WANDB_SECRET, agent_run_count, cluster_name, cluster_prefix, task_config, validate_task_config
from .teardown import run_teardown

PLACEHOLDER_SWEEP_ID = "<sweep-id>"


def launch(directive: dict, ctx: ExecContext, adapter: CloudAdapter | None = None) -> Outcome:
    payload = directive["payload"]
    try:
        real = with_real_values(payload, read_campaign(ctx.project_root))
    except SecretUnavailable as exc:
        return Outcome(launch_details(payload, None, False, 0, ctx.now()),
                       ExecError("command-unavailable", one_line(str(exc)), False))
    with record_lock(ctx, payload["sweep_identity"]):
        return run_launch(real, ctx, adapter or default_adapter(ctx))


def with_real_values(payload: dict, campaign) -> dict:
    """The payload with the campaign's real command and setup where the directive shows them [REDACTED]:
    W&B and the machines need the real ones (held in memory only)."""
    config, skypilot = dict(payload["sweep_config"]), dict(payload["skypilot"])
    if "command" in config:
        config["command"] = real_value(config["command"], campaign, ("project", "command"))
    if "setup" in skypilot:
        skypilot["setup"] = real_value(skypilot["setup"], campaign, ("compute", "skypilot", "setup"))
    return dict(payload, sweep_config=config, skypilot=skypilot)


def poll(directive: dict, ctx: ExecContext, adapter: CloudAdapter | None = None) -> Outcome:
    with record_lock(ctx, directive["payload"]["sweep_identity"]):
        return run_poll(directive, ctx, adapter or default_adapter(ctx))


def teardown(directive: dict, ctx: ExecContext, adapter: CloudAdapter | None = None) -> Outcome:
    with record_lock(ctx, directive["payload"]["sweep_identity"]):
        return run_teardown(directive, ctx, adapter or default_adapter(ctx))


def _record_summary(ctx: ExecContext, identity: str) -> dict:
    try:
        record = cloud_record.load(ctx, identity)
    except RecordError as exc:
        return {"record": "invalid", "record_error": exc.issues[0].message if exc.issues else str(exc)}
    if record is None:
        return {"record": "none"}
    return {"record": "present", "sweep_id": record["sweep"]["sweep_id"], "attempt": record["attempt"],
            "spend_usd_so_far": record["spend_usd"], "live_resources": live_resources(record)}


def _launch_plan(payload: dict, ctx: ExecContext, summary: dict) -> dict:
    identity, attempt = payload["sweep_identity"], summary.get("attempt", 1)
    count = agent_run_count(payload["sweep_config"]["run_cap"], payload["num_agents"])
    tasks = [task_config(cluster=cluster_name(identity, attempt, index), entity=payload["wandb"]["entity"],
                         project=payload["wandb"]["project"], sweep_id=summary.get("sweep_id") or PLACEHOLDER_SWEEP_ID,
                         skypilot=payload["skypilot"], workdir=workdir(payload, ctx),
                         idle_timeout_minutes=payload["idle_timeout_minutes"], agent_count=count)
             for index in range(1, payload["num_agents"] + 1)]
    need = round(payload["skypilot"]["max_hourly_cost_usd"] * payload["num_agents"], 6)
    refused = refusal(payload, ctx)
    validation = validate_task_config(tasks[0])
    would = (f"reconnect to sweep {summary['sweep_id']} and start any agent without a cluster"
             if summary.get("sweep_id") else
             f"create W&B sweep {identity} in {payload['wandb']['entity']}/{payload['wandb']['project']} and "
             f"launch {payload['num_agents']} Vast.ai cluster(s), each running `wandb agent --count {count}`")
    return {"would": would, "cluster_prefix": cluster_prefix(identity), "tasks": tasks,
            "secrets_by_name": [WANDB_SECRET], "wandb_api_key_present": bool(ctx.env.get(WANDB_SECRET)),
            "budget_reservation_usd": need, "budget_remaining_usd": payload["budget"]["remaining_usd"],
            "budget_sufficient": payload["budget"]["remaining_usd"] >= need,
            "refusal": {"code": refused[0], "message": refused[1]} if refused else None,
            "task_validation": {"status": validation.status, "message": validation.message}, **summary}


def plan(directive: dict, ctx: ExecContext) -> dict:
    """What the directive would do, from the directive and the local record only (no cloud call)."""
    payload, kind = directive["payload"], directive["type"]
    summary = _record_summary(ctx, payload["sweep_identity"])
    if kind == "launch_sweep":
        return _launch_plan(payload, ctx, summary)
    if kind == "poll_sweep":
        return {"would": "list SkyPilot clusters and Vast.ai instances to reconcile spend, read the W&B sweep and "
                         "its runs, stop runs idle for idle_timeout_minutes (and down their clusters), and stop "
                         "everything when the budget is reached", **summary}
    return {"would": "stop the W&B sweep and down every cluster whose name starts with the prefix, then list "
                     "again and report what remains", "cluster_prefix": cluster_prefix(payload["sweep_identity"]),
            **summary}
