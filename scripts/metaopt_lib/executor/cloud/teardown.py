"""teardown for the skypilot backend: stop the sweep, down every cluster of the identity (from the record
and from SkyPilot's listing by name prefix), then list again and report whatever still shows — including
Vast.ai instances SkyPilot no longer sees. ok only when nothing remains."""
from __future__ import annotations

from ..outcome import ExecContext, Outcome
from . import record as cloud_record
from .adapter import CloudAdapter, CloudError
from .common import cluster_resource, describe, exec_error, listings
from .record import down_requested, open_clusters, save, stop_requested
from .spend import adopt_listed, reconcile
from .task import cluster_prefix, label_belongs_to

NAME_LIMIT = 200
MAX_RESOURCES = 200


def _sweep_ids(payload: dict, record: dict, adapter: CloudAdapter, ctx: ExecContext) -> list:
    """Every sweep of this identity to stop: the directive's, the record's (found by name when its creation
    was never confirmed) and those of abandoned attempts."""
    sweep = record["sweep"]
    if sweep["phase"] == "creating":
        found = adapter.find_sweep(record["wandb"]["entity"], record["wandb"]["project"], payload["sweep_identity"])
        if found is not None and found.sweep_id not in record["abandoned_sweep_ids"]:
            sweep.update(phase="created", sweep_id=found.sweep_id, url=found.url)
            save(ctx, record)
    ids = []
    for sweep_id in [payload.get("sweep_id"), sweep["sweep_id"]] + record["abandoned_sweep_ids"]:
        if sweep_id is not None and sweep_id not in ids:
            ids.append(sweep_id)
    return ids


def _stop_sweeps(payload: dict, record: dict | None, adapter: CloudAdapter, ctx: ExecContext, problems: list):
    """(whether every sweep is stopped, the sweep resources stopped)."""
    if record is None:
        if payload.get("sweep_id") is None:
            return True, []  # the record is written before a sweep is created: none was created here
        problems.append(CloudError("sweep-record-missing", f"no record of {payload['sweep_identity']} here, so its "
                                   f"W&B project is unknown; stop sweep {payload['sweep_id']} by hand with "
                                   "wandb sweep --stop ENTITY/PROJECT/SWEEP_ID", False))
        return False, []
    stop_requested(record, "teardown", ctx.now())
    save(ctx, record)
    stopped, ok = [], True
    try:
        ids = _sweep_ids(payload, record, adapter, ctx)
    except CloudError as exc:
        problems.append(exc)
        return False, []
    for sweep_id in ids:
        try:
            adapter.stop_sweep(record["wandb"]["entity"], record["wandb"]["project"], sweep_id)
            stopped.append({"kind": "sweep", "name": sweep_id})
        except CloudError as exc:
            problems.append(exc)
            ok = False
    return ok, stopped


def _down(record: dict | None, listed: list | None, adapter: CloudAdapter, ctx: ExecContext, problems: list) -> list:
    names = [c.name for c in listed or []]
    if record is not None:
        adopt_listed(record, listed, None, ctx.now())
        for entry in open_clusters(record):
            down_requested(entry, "teardown", ctx.now())
        save(ctx, record)
        names = list(dict.fromkeys([e["name"] for e in open_clusters(record)] + names))
    downed = []
    for name in names:
        try:
            adapter.down_cluster(name)
            downed.append(name)
        except CloudError as exc:
            problems.append(exc)
    return downed


def _remaining(prefix: str, record: dict | None, clusters, instances, downed: list) -> list:
    if clusters is None or instances is None:
        # A listing failed: nothing can be confirmed gone.
        if record is not None:
            return [cluster_resource(e) for e in open_clusters(record)]
        return [{"kind": "cluster", "name": name} for name in downed]
    out = []
    for cluster in clusters:
        resource = {"kind": "cluster", "name": cluster.name}
        if cluster.hourly_price_usd is not None:
            resource["hourly_cost_usd"] = round(min(cluster.hourly_price_usd, 1000), 6)
        out.append(resource)
    shown = {c.name for c in clusters}
    for instance in instances:
        if label_belongs_to(instance.label, prefix) and not any(label_belongs_to(instance.label, n) for n in shown):
            resource = {"kind": "cluster", "name": (instance.label or f"vast-instance-{instance.instance_id}")
                        [:NAME_LIMIT]}
            if instance.hourly_price_usd is not None:
                resource["hourly_cost_usd"] = round(min(instance.hourly_price_usd, 1000), 6)
            out.append(resource)
    return out


def run_teardown(directive: dict, ctx: ExecContext, adapter: CloudAdapter) -> Outcome:
    payload = directive["payload"]
    identity = payload["sweep_identity"]
    prefix = cluster_prefix(identity)
    record = cloud_record.load(ctx, identity)
    problems = []
    sweep_stopped, stopped = _stop_sweeps(payload, record, adapter, ctx, problems)
    try:
        listed = adapter.list_clusters(prefix)
    except CloudError as exc:
        listed = None
        problems.append(exc)
    downed = _down(record, listed, adapter, ctx, problems)
    clusters, instances, failures = listings(adapter, prefix)
    if record is not None:
        reconcile(record, clusters, instances, ctx.now())
        save(ctx, record)
        released = [cluster_resource(e) for e in record["clusters"]
                    if e["down_reason"] == "teardown" and e["ended_at"] is not None]
    else:
        gone = set() if clusters is None or instances is None else set(downed) - {c.name for c in clusters}
        released = [{"kind": "cluster", "name": name} for name in downed if name in gone]
    remaining = _remaining(prefix, record, clusters, instances, downed)
    details = {"sweep_identity": identity, "sweep_stopped": sweep_stopped,
               "resources_released": (stopped + released)[:MAX_RESOURCES],
               "resources_remaining": remaining[:MAX_RESOURCES]}
    if remaining:
        return Outcome(details, exec_error("teardown-incomplete", f"{len(remaining)} resource(s) still listed: "
                                           f"{', '.join(r['name'] for r in remaining[:5])}"
                                           + (f"; {describe(problems + failures)}" if problems + failures else ""),
                                           True, ctx))
    if failures or problems:
        every = failures + problems
        return Outcome(details, exec_error("teardown-unconfirmed" if failures else every[0].code, describe(every),
                                           all(p.retryable for p in every), ctx))
    return Outcome(details)
