"""Pieces the skypilot backend's launch, poll and teardown share: the adapter they talk through, secret
redaction of every message, listings that never read a failure as "nothing", and stopping things."""
from __future__ import annotations

from typing import Mapping

from ...contract.campaign_secrets import project_redactor
from ...contract.conventions import one_line as outcome_one_line
from ...contract.redaction import Redactor, secret_values
from ..outcome import ExecContext, ExecError
from .adapter import CloudAdapter, CloudError
from .record import down_requested, open_clusters, save, stop_requested

def default_adapter(ctx: ExecContext) -> CloudAdapter:
    from .real import RealCloudAdapter

    return RealCloudAdapter(ctx.env)


def one_line(text: str, env: Mapping[str, str], redactor: Redactor | None = None) -> str:
    """`text` as one line of at most 300 characters with every secret (of `env`, or of `redactor` when
    given, or by its shape) redacted."""
    redactor = redactor or Redactor(secret_values(env))
    return outcome_one_line(redactor.text(" ".join(str(text).split())))


def exec_error(code: str, message: str, retryable: bool, ctx: ExecContext) -> ExecError:
    """An error whose message (often a cloud tool's, which may echo the real command or setup) is
    redacted by the campaign's rule."""
    return ExecError(code, one_line(message, ctx.env, project_redactor(ctx.project_root, ctx.env)), retryable)


def listings(adapter: CloudAdapter, prefix: str) -> tuple:
    """(SkyPilot clusters or None, Vast.ai instances or None, CloudErrors): None means the listing failed."""
    problems = []
    try:
        clusters = adapter.list_clusters(prefix)
    except CloudError as exc:
        clusters = None
        problems.append(exc)
    try:
        instances = adapter.list_instances()
    except CloudError as exc:
        instances = None
        problems.append(exc)
    return clusters, instances, problems


def stop_sweep(adapter: CloudAdapter, ctx: ExecContext, record: dict, reason: str) -> list:
    """Record the decision, then stop the current sweep; returns the CloudErrors (empty when stopped)."""
    stop_requested(record, reason, ctx.now())
    save(ctx, record)
    sweep_id = record["sweep"]["sweep_id"]
    if sweep_id is None:
        return []
    try:
        adapter.stop_sweep(record["wandb"]["entity"], record["wandb"]["project"], sweep_id)
    except CloudError as exc:
        return [exc]
    return []


def down_clusters(adapter: CloudAdapter, ctx: ExecContext, record: dict, entries: list, reason: str) -> tuple:
    """Record each decision, then down each cluster; returns (names downed, CloudErrors)."""
    downed, problems = [], []
    for entry in entries:
        down_requested(entry, reason, ctx.now())
        save(ctx, record)
        try:
            adapter.down_cluster(entry["name"])
        except CloudError as exc:
            problems.append(exc)
            continue
        downed.append(entry["name"])
    return downed, problems


def down_everything(adapter: CloudAdapter, ctx: ExecContext, record: dict, sweep_reason: str,
                    cluster_reason: str) -> tuple:
    """Stop the sweep and down every cluster not yet confirmed gone: (names downed, CloudErrors)."""
    problems = stop_sweep(adapter, ctx, record, sweep_reason)
    downed, more = down_clusters(adapter, ctx, record, open_clusters(record), cluster_reason)
    return downed, problems + more


def cluster_resource(entry: dict) -> dict:
    resource = {"kind": "cluster", "name": entry["name"]}
    if entry["hourly_price_usd"] is not None:
        resource["hourly_cost_usd"] = entry["hourly_price_usd"]
    return resource


def live_resources(record: dict | None, downed=()) -> list:
    """The sweep (unless the executor stopped it) and every cluster not confirmed gone nor just downed."""
    if record is None:
        return []
    out = []
    sweep = record["sweep"]
    if sweep["sweep_id"] is not None and sweep["stop_reason"] is None:
        out.append({"kind": "sweep", "name": sweep["sweep_id"]})
    return out + [cluster_resource(e) for e in open_clusters(record) if e["name"] not in downed]


def describe(problems: list) -> str:
    return "; ".join(str(p) for p in problems)
