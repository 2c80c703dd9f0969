"""Spend of a cloud sweep, reconciled from SkyPilot's listing, Vast.ai's listing and the executor's own
launch record, kept per cluster in the record so it only ever grows.

Each cluster is billed from its launch intent, interval by interval, at Vast.ai's dph_total for it (the
highest seen), or at the launch's max hourly cost until Vast.ai has priced it (SkyPilot's catalog price
can be below the real one, so it never sets the rate). A cluster ends only when every listing answered
and none shows it; while a listing fails, a cluster no answering listing shows keeps billing. So an empty
or failed listing never reads as zero spend, and a cluster that leaves the listings keeps what it was
billed. SkyPilot's and Vast.ai's own lifetime figures are reported as further sources; the sweep's spend
is the highest of all, and never lower than before.
"""
from __future__ import annotations

import datetime
import re

from ..outcome import parse_timestamp, timestamp
from .adapter import ClusterInfo
from .record import cluster_entry, hours_between, new_cluster
from .task import label_belongs_to

SOURCE_RECORD, SOURCE_SKY, SOURCE_VAST = "launch-record", "sky-status", "vastai-instances"
_NAME_TAIL = re.compile(r"s([1-9][0-9]*)-a([1-9][0-9]*)")


def _named(prefix: str, text: str) -> tuple | None:
    """(cluster name, attempt, agent index) when `text` (a cluster name or instance label) is ours."""
    if not text.startswith(prefix):
        return None
    match = _NAME_TAIL.match(text[len(prefix):])
    if match is None:
        return None
    return prefix + match.group(0), int(match.group(1)), int(match.group(2))


def adopt_listed(record: dict, clusters: list | None, instances: list | None, now: datetime.datetime) -> list:
    """Add clusters of this identity that a listing shows but the record lacks (the record is written
    before every launch, so this only happens after a lost record); returns the adopted names."""
    adopted = []
    labels = [c.name for c in clusters or []] + [i.label for i in instances or []]
    for text in labels:
        named = _named(record["cluster_prefix"], text)
        if named and cluster_entry(record, named[0]) is None:
            record["clusters"].append(new_cluster(named[0], named[1], named[2], "adopted", now))
            adopted.append(named[0])
    return adopted


def _accrue(entry: dict, rate: float, until: datetime.datetime) -> None:
    hours = hours_between(entry["billed_until"], until)
    if hours > 0:
        entry["billed_usd"] = round(entry["billed_usd"] + rate * hours, 6)
        entry["billed_until"] = timestamp(until)


def _observe(entry: dict, sky_hit: ClusterInfo | None, vast_hits: list) -> None:
    priced = [i.hourly_price_usd for i in vast_hits if i.hourly_price_usd is not None]
    if priced:
        entry["hourly_price_usd"] = round(max(sum(priced), entry["hourly_price_usd"] or 0.0), 6)
    if sky_hit is not None and sky_hit.launched_at is not None:
        entry["launched_at"] = timestamp(sky_hit.launched_at)
    if entry["launch"] == "intended" and (sky_hit is not None or vast_hits):
        entry["launch"] = "adopted"  # the launch request went through although its answer was lost


def _settle(entry: dict, visible: bool, complete: bool, cap: float, now: datetime.datetime) -> None:
    # Vast.ai's dph_total is what is billed; SkyPilot's catalog price can be lower, so it never sets the rate.
    rate = entry["hourly_price_usd"] if entry["hourly_price_usd"] is not None else cap
    if visible:
        entry["ended_at"] = None  # listed again after it seemed gone: it billed all along
        _accrue(entry, rate, now)
    elif entry["ended_at"] is not None:
        return
    elif complete:
        # Gone from every listing: it billed until we downed it, or (autodown) at most until now.
        end = now
        if entry["down_requested_at"] is not None:
            end = max(parse_timestamp(entry["billed_until"]), parse_timestamp(entry["down_requested_at"]))
        _accrue(entry, rate, end)
        entry["ended_at"] = entry["billed_until"]
    else:
        _accrue(entry, rate, now)  # a listing is missing: it may bill unseen


def _lifetime_usd(price: float | None, start: datetime.datetime | None, now: datetime.datetime) -> float:
    if price is None or start is None:
        return 0.0
    return price * max(0.0, (now - start).total_seconds()) / 3600


def reconcile(record: dict, clusters: list | None, instances: list | None, now: datetime.datetime) -> dict:
    """Bill every cluster of the record up to `now` and return the executor-result `spend` object.

    `clusters` / `instances` are the SkyPilot and Vast.ai listings, or None when that listing failed."""
    prefix, cap = record["cluster_prefix"], record["max_hourly_cost_usd"]
    complete = clusters is not None and instances is not None
    adopt_listed(record, clusters, instances, now)
    by_name = {c.name: c for c in clusters or []}
    for entry in record["clusters"]:
        sky_hit = by_name.get(entry["name"])
        vast_hits = [i for i in instances or [] if label_belongs_to(i.label, entry["name"])]
        _observe(entry, sky_hit, vast_hits)
        _settle(entry, sky_hit is not None or bool(vast_hits), complete, cap, now)
    ledger = round(sum(entry["billed_usd"] for entry in record["clusters"]), 6)
    sources = [{"name": SOURCE_RECORD, "ok": True, "usd": ledger}]
    sky_usd = sum(_lifetime_usd(c.hourly_price_usd, c.launched_at, now) for c in clusters or []
                  if c.name.startswith(prefix))
    sources.append({"name": SOURCE_SKY, "ok": clusters is not None,
                    "usd": round(sky_usd, 6) if clusters is not None else None})
    vast_usd = sum(_lifetime_usd(i.hourly_price_usd, i.started_at, now) for i in instances or []
                   if label_belongs_to(i.label, prefix))
    sources.append({"name": SOURCE_VAST, "ok": instances is not None,
                    "usd": round(vast_usd, 6) if instances is not None else None})
    total = round(max([record["spend_usd"]] + [s["usd"] for s in sources if s["ok"]]), 6)
    record["spend_usd"] = total
    return {"sweep_spend_usd": total, "complete": complete, "sources": sources}
