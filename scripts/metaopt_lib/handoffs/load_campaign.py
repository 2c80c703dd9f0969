"""metaopt-load-campaign: LOAD_CAMPAIGN / validate_campaign.

Moves on to HYDRATE_STATE only when the campaign is valid, is still this campaign (identity hash),
and the preflight readiness artifact is present, valid, READY and fresh for the campaign as it is
now. Everything else blocks with BLOCKED_CONFIG and resumes here once the user fixed the cause.
"""
from __future__ import annotations

from ..contract import campaign as campaign_lib
from ..contract import machine
from ..contract.clock import parse_time
from .common import run_phase

# A readiness check says what the machine was like when it ran; after this long it says too little
# (packages upgraded, keys rotated, a venv removed) to let a campaign spend on it.
PREFLIGHT_MAX_AGE_DAYS = 7

_RERUN = ("run the preflight again (python3 scripts/preflight.py --project-root <project> writes "
          ".ml-metaopt/preflight-readiness.json), then run metaopt.py resume.")
RERUN_PREFLIGHT = _RERUN[0].upper() + _RERUN[1:]
FIX_AND_RERUN_PREFLIGHT = "Fix what the failed check reports, then " + _RERUN


def validate_campaign(state, campaign, inputs, builder) -> dict:
    problem = preflight_problem(campaign, inputs.preflight, inputs.now)
    if problem is not None:
        code, reason, fix = problem
        return builder.blocked("BLOCKED_CONFIG", code, reason, fix, campaign)
    builder.set("/campaign", {"name": campaign["campaign"]["name"],
                              "identity_hash": campaign_lib.identity_hash(campaign),
                              "runtime_config_hash": campaign_lib.runtime_config_hash(campaign)})
    return builder.advance("HYDRATE_STATE", "hydrate_state",
                           f"Campaign {campaign['campaign']['name']} is valid and its preflight is READY and fresh.")


def preflight_problem(campaign, preflight, now):
    """(code, reason, fix) when the preflight artifact does not clear the campaign, else None."""
    if not preflight.exists:
        return ("preflight-missing", "No preflight readiness artifact (.ml-metaopt/preflight-readiness.json).",
                RERUN_PREFLIGHT)
    if not preflight.valid:
        first = preflight.issues[0].message if preflight.issues else "it could not be read"
        return "preflight-invalid", f"The preflight readiness artifact is invalid: {first}", RERUN_PREFLIGHT
    document = preflight.document
    if document["status"] == "FAILED":
        failure = document["failures"][0]
        return ("preflight-failed",
                f"Preflight FAILED: {failure['message']} (fix: {failure['fix']})",
                FIX_AND_RERUN_PREFLIGHT)
    stale = [name for name, key, current in (
        ("identity", "campaign_identity_hash", campaign_lib.identity_hash(campaign)),
        ("runtime settings", "runtime_config_hash", campaign_lib.runtime_config_hash(campaign)))
        if document[key] != current]
    if stale:
        return ("preflight-stale",
                f"The preflight was made for other campaign {' and '.join(stale)} than the campaign file has now.",
                RERUN_PREFLIGHT)
    age = parse_time(now) - parse_time(document["emitted_at"])
    if age.total_seconds() > PREFLIGHT_MAX_AGE_DAYS * 86400:
        return ("preflight-expired",
                f"The preflight readiness artifact is {age.days} days old; it is trusted for "
                f"{PREFLIGHT_MAX_AGE_DAYS} days.", RERUN_PREFLIGHT)
    return None


PHASES = {("LOAD_CAMPAIGN", "validate_campaign"): validate_campaign}


def handoff(state, campaign, inputs) -> dict:
    return run_phase(machine.LOAD, PHASES, state, campaign, inputs)
