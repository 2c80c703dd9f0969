"""poll_sweep for the skypilot backend: reconcile spend, read the sweep, stop idle runs, enforce the
budget, and say what still runs.

Every decision is written to the record first (a killed run, a cluster to down, the sweep to stop) and
then carried out by one step that also retries whatever an earlier poll decided but could not finish.

Agents gone: when W&B still says the sweep runs (or is pending) but every agent's cluster has been
launched and is confirmed gone by every listing, and no run is running, nothing can make progress. The
executor stops the sweep and reports it finished (run cap reached), canceled (some trials finished: they
are analyzed) or failed (none finished).
"""
from __future__ import annotations

import datetime

from ..outcome import ExecContext, ExecError, Outcome, campaign_spend_after, timestamp
from ..trial_table import write_trial_table
from . import record as cloud_record
from .adapter import CloudAdapter, CloudError
from .common import describe, exec_error, listings, one_line
from .record import cluster_entry, down_requested, open_clusters, save, stop_requested
from .runs import (RUNNING_RUN_STATES, STOP_REASON_FOR_STATE, best_run, is_idle, normalized_sweep_state, run_cluster,
                   status_from_record, trial_counts, trial_rows, trial_seconds)
from .spend import reconcile

ACTIVE = ("pending", "running", "paused")


class _Poll:
    def __init__(self, directive: dict, ctx: ExecContext, adapter: CloudAdapter, record: dict):
        self.directive, self.payload, self.ctx, self.adapter, self.record = \
            directive, directive["payload"], ctx, adapter, record
        self.now = ctx.now()
        self.entity, self.project = record["wandb"]["entity"], record["wandb"]["project"]
        self.problems, self.downed, self.listing_failures = [], [], []
        self.info, self.runs, self.state = None, None, None

    def read_sweep(self) -> None:
        if self.payload["sweep_id"] != self.record["sweep"]["sweep_id"]:
            self.problems.append(CloudError("sweep-id-mismatch", f"the record of {self.record['sweep_identity']} "
                                            f"holds sweep {self.record['sweep']['sweep_id']}, not "
                                            f"{self.payload['sweep_id']}", False))
            return
        try:
            self.info = self.adapter.get_sweep(self.entity, self.project, self.payload["sweep_id"])
            self.runs = self.adapter.list_runs(self.entity, self.project, self.payload["sweep_id"],
                                               self.payload["objective"]["metric"])
        except CloudError as exc:
            self.problems.append(exc)
            self.info = self.runs = None
            return
        self.state = normalized_sweep_state(self.info.state)
        if self.state is None:
            self.problems.append(CloudError("sweep-state-unknown", f"W&B reports sweep state {self.info.state!r}, "
                                            "which this executor does not know", True))

    def decide_idle_kills(self) -> None:
        timeout = datetime.timedelta(minutes=self.payload["idle_timeout_minutes"])
        killed = {k["run_id"] for k in self.record["killed_runs"]}
        names = {entry["name"] for entry in self.record["clusters"]}
        for run in self.runs:
            if run.run_id in killed or not is_idle(run, self.now, timeout):
                continue
            cluster = run_cluster(run, names)
            self.record["killed_runs"].append({"run_id": run.run_id, "cluster": cluster,
                                               "killed_at": timestamp(self.now), "stopped": False,
                                               "directive_id": self.directive["directive_id"]})
            if cluster is not None:
                down_requested(cluster_entry(self.record, cluster), "idle", self.now)

    def agents_gone(self) -> bool:
        record = self.record
        launched = {e["agent_index"] for e in record["clusters"]
                    if e["attempt"] == record["attempt"] and e["launch"] in ("returned", "adopted")}
        return (self.state in ("pending", "running") and record["sweep"]["stop_reason"] is None
                and launched >= set(range(1, record["num_agents"] + 1)) and not open_clusters(record)
                and not any(run.state.lower() in RUNNING_RUN_STATES for run in self.runs))

    def stop_everything(self, reason: str) -> None:
        stop_requested(self.record, reason, self.now)
        for entry in open_clusters(self.record):
            down_requested(entry, reason, self.now)

    def carry_out(self) -> None:
        """Every recorded decision not yet done: stop runs, down clusters, stop the sweep (all idempotent)."""
        save(self.ctx, self.record)
        for kill in self.record["killed_runs"]:
            if not kill["stopped"]:
                try:
                    self.adapter.stop_run(self.entity, self.project, kill["run_id"])
                    kill["stopped"] = True
                except CloudError as exc:
                    self.problems.append(exc)
        for entry in open_clusters(self.record):
            if entry["down_requested_at"] is not None and entry["name"] not in self.downed:
                try:
                    self.adapter.down_cluster(entry["name"])
                    self.downed.append(entry["name"])
                except CloudError as exc:
                    self.problems.append(exc)
        sweep = self.record["sweep"]
        if sweep["stop_reason"] is not None and (self.state is None or self.state in ACTIVE):
            try:
                self.adapter.stop_sweep(self.entity, self.project, sweep["sweep_id"])
            except CloudError as exc:
                self.problems.append(exc)
        save(self.ctx, self.record)

    def spend(self) -> dict:
        clusters, instances, failures = listings(self.adapter, self.record["cluster_prefix"])
        self.listing_failures = failures
        result = reconcile(self.record, clusters, instances, self.now)
        save(self.ctx, self.record)
        return result

    def budget(self, spend: dict) -> dict:
        return campaign_spend_after(self.payload["budget"], self.payload["recorded_sweep_spend_usd"],
                                    spend["sweep_spend_usd"])


def _over(budget: dict) -> bool:
    return budget["spent_usd"] >= budget["max_budget_usd"]


def _outcome(poll: _Poll, spend: dict, budget: dict) -> Outcome:
    killed_ids = {k["run_id"] for k in poll.record["killed_runs"]}
    trials = trial_counts(poll.runs or [], killed_ids)
    if poll.runs is not None:
        write_trial_table(poll.ctx.project_root, poll.payload["sweep_identity"], "skypilot",
                          poll.record.get("space"), trial_rows(poll.runs, killed_ids), poll.now)
    if _over(budget):
        status, stop_reason = "budget_exceeded", "budget"
    else:
        status, stop_reason = status_from_record(poll.record, trials["finished"]) or \
            ((poll.state, STOP_REASON_FOR_STATE.get(poll.state)) if poll.state else ("running", None))
    details = {"sweep_identity": poll.payload["sweep_identity"], "sweep_id": poll.payload["sweep_id"],
               "sweep_status": status, "stop_reason": stop_reason, "trials": trials,
               "best_run": best_run(poll.runs or [], poll.payload["objective"]["direction"]),
               "spend": spend, "budget": budget,
               "idle_killed": [k["run_id"] for k in poll.record["killed_runs"]
                               if k["directive_id"] == poll.directive["directive_id"]][:1000],
               "resources_live": bool(open_clusters(poll.record)), "polled_at": timestamp(poll.now),
               "trial_seconds": trial_seconds(poll.runs or [])}
    if not spend["complete"]:
        return Outcome(details, exec_error("spend-listing-failed", "a cost listing failed, so spend is unconfirmed "
                                           "(machines no listing shows keep billing at their last known rate): "
                                           f"{describe(poll.listing_failures + poll.problems)}", True, poll.ctx))
    if poll.problems:
        first = poll.problems[0]
        retryable = all(p.retryable for p in poll.problems)
        return Outcome(details, exec_error(first.code, describe(poll.problems), retryable, poll.ctx))
    return Outcome(details)


def run_poll(directive: dict, ctx: ExecContext, adapter: CloudAdapter) -> Outcome:
    payload = directive["payload"]
    record = cloud_record.load(ctx, payload["sweep_identity"])
    if record is None:
        return _no_record(payload, ctx)
    poll = _Poll(directive, ctx, adapter, record)
    spend = poll.spend()
    poll.read_sweep()
    if poll.runs is not None and record["sweep"]["stop_reason"] is None:
        poll.decide_idle_kills()
    budget = poll.budget(spend)
    over = _over(budget)
    if over:
        poll.stop_everything("budget")
    elif poll.runs is not None and spend["complete"] and poll.agents_gone():
        stop_requested(record, "agents-gone", poll.now)
    poll.carry_out()
    if poll.downed:
        # Confirm what was just downed; spend can only grow here, so the budget is checked again.
        spend = poll.spend()
        budget = poll.budget(spend)
        if _over(budget) and not over:
            poll.stop_everything("budget")
            poll.carry_out()
    return _outcome(poll, spend, budget)


def _no_record(payload: dict, ctx: ExecContext) -> Outcome:
    recorded = payload["recorded_sweep_spend_usd"]
    details = {"sweep_identity": payload["sweep_identity"], "sweep_id": payload["sweep_id"],
               "sweep_status": "failed", "stop_reason": "failed",
               "trials": {"finished": 0, "running": 0, "failed": 0, "killed": 0, "interrupted": 0}, "best_run": None,
               "spend": {"sweep_spend_usd": recorded, "complete": False,
                         "sources": [{"name": "launch-record", "ok": False, "usd": None}]},
               "budget": campaign_spend_after(payload["budget"], recorded, recorded),
               "idle_killed": [], "resources_live": True, "polled_at": timestamp(ctx.now())}
    path = cloud_record.record_path(ctx, payload["sweep_identity"])
    return Outcome(details, ExecError("sweep-record-missing", one_line(
        f"{path} does not exist, so this sweep's machines and spend are unknown; run a teardown for "
        f"{payload['sweep_identity']} (it finds clusters by name) and check `sky status`", ctx.env), False))
