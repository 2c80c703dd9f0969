"""`metaopt.py resume`: continue a stopped campaign once the user has fixed the cause of its stop.

A BLOCKED_CONFIG or BLOCKED_PROTOCOL campaign continues at its block's resume point. A COMPLETE
campaign that a limit stopped (budget, max_iterations, no_improve_iterations, target_metric)
continues where the limit stopped it, once the campaign file no longer holds it to that limit: the
limits are checked again, with the campaign as it is now. FAILED, and COMPLETE for any other reason,
are final; `metaopt.py reset` starts such a campaign over.
"""
from __future__ import annotations

from ..contract import machine
from ..contract.campaign import identity_hash
from ..contract.paths import CAMPAIGN_FILE
from ..contract.state_views import effective_baseline
from ..handoffs.common import hook_text
from ..handoffs.iteration_close import stop_conditions
from . import engine, mechanical
from .driver import StepError, close_finished_cleanup, read_state, run_mechanical
from .state_store import state_digest


def resume_stopped(cdir, now):
    """(the resumed state, a summary); raises StepError, changing nothing, when it cannot resume."""
    state = close_finished_cleanup(cdir, run_mechanical(cdir, read_state(cdir), now), now)
    point = resume_point(state)
    if point is None and state["machine_state"] not in machine.TERMINAL_STATES:
        raise StepError("not-blocked", f"the campaign is {state['machine_state']}, not stopped",
                        "Use metaopt.py step to continue a running campaign.")
    if point is None:
        raise StepError("not-resumable", f"the campaign is {state['machine_state']} "
                        f"({state['terminal']['reason'] if state['terminal'] else 'stopped'}), which resume cannot "
                        "continue", "Run metaopt.py reset to archive it and start the campaign over.")
    if state["pending"]:
        raise StepError("cleanup-pending", "cleanup of the stopped campaign has not finished",
                        "Run metaopt.py step (it runs the cleanup), then resume.")
    campaign, campaign_issues = cdir.campaign()
    if campaign is None:
        raise StepError("campaign-invalid", f"{CAMPAIGN_FILE} is still invalid: {campaign_issues[0].message}",
                        "Fix it (python3 scripts/validate.py shows every problem), then resume.", campaign_issues)
    if identity_hash(campaign) != state["campaign"]["identity_hash"]:
        raise StepError("campaign-invalid", "the campaign's identity (name, objective, W&B entity or project) "
                        "differs from the one this state belongs to",
                        "Restore the original identity fields, then resume.")
    resume_state, resume_phase, cause = point
    if state["machine_state"] == "COMPLETE":
        held = [text for limit, text in stop_conditions(state, campaign, effective_baseline(state),
                                                        state["no_improve_streak"])
                if limit in state["terminal"]["resume"]["limits"]]
        if held:
            raise StepError("not-resumable", f"the campaign is still at its limit: {held[0]}",
                            "Raise that limit in ml_metaopt_campaign.yaml (see references/state-machine.md), "
                            "then resume.")
    new_state = dict(state, machine_state=resume_state, phase=resume_phase, status="RUNNING",
                     block=None, terminal=None, step_seq=state["step_seq"] + 1, updated_at=now)
    engine.check_state(new_state, "state after resume")
    cdir.write_state(new_state, validated=True)
    mechanical.run(cdir, {"type": "add_agents_hook", "iteration": state["iteration"],
                          "payload": {"marker": state["campaign"]["name"],
                                      "text": hook_text(state["campaign"]["name"])}}, new_state)
    cdir.append_journal({"seq": new_state["step_seq"], "applied_to": state_digest(state), "at": now,
                         "event": "resume", "from": state["machine_state"], "to": resume_state,
                         "summary": f"resumed at {resume_state}/{resume_phase} after {cause}"})
    return new_state, f"Resumed at {resume_state} after {cause}."


def resume_point(state):
    """(state, phase, cause) a stopped campaign can continue at, or None."""
    if state["machine_state"] in machine.BLOCKED_STATES and state["block"]:
        block = state["block"]
        return block["resume_state"], block["resume_phase"], block["code"]
    resume = (state["terminal"] or {}).get("resume")
    if state["machine_state"] == "COMPLETE" and resume:
        return resume["resume_state"], resume["resume_phase"], "the " + " and ".join(resume["limits"]) + " limit"
    return None
