"""Schema-valid `details` for a directive that failed before its backend could say anything."""
from __future__ import annotations

from .outcome import campaign_spend_after


def failure_details(directive: dict, now: str) -> dict:
    payload, kind = directive["payload"], directive["type"]
    if kind == "run_smoke_test":
        return {"passed": False, "exit_code": None, "timed_out": False, "duration_seconds": 0,
                "stdout_tail": [], "stderr_tail": []}
    if kind == "launch_sweep":
        return {"sweep_identity": payload["sweep_identity"], "sweep_id": None, "sweep_url": None,
                "backend": payload["backend"], "reconnected": False, "run_cap": payload["sweep_config"]["run_cap"],
                "agents_started": 0, "resources": [], "launched_at": now}
    if kind == "poll_sweep":
        # Nothing could be measured: the spend is unknown, never zero.
        return {"sweep_identity": payload["sweep_identity"], "sweep_id": payload["sweep_id"],
                "sweep_status": "failed", "stop_reason": "failed",
                "trials": {"finished": 0, "running": 0, "failed": 0, "killed": 0, "interrupted": 0}, "best_run": None,
                "spend": {"sweep_spend_usd": payload["recorded_sweep_spend_usd"], "complete": False,
                          "sources": [{"name": "executor-records", "ok": False, "usd": None}]},
                "budget": campaign_spend_after(payload["budget"], payload["recorded_sweep_spend_usd"],
                                               payload["recorded_sweep_spend_usd"]),
                "idle_killed": [], "resources_live": True, "polled_at": now}
    return {"sweep_identity": payload["sweep_identity"], "sweep_stopped": False, "resources_released": [],
            "resources_remaining": []}
