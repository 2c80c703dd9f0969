"""The campaign state machine as data: states, phases, transitions with guards, cleanup, owners.

This module and references/schemas/common.schema.json are the single source of truth for the
machine; the reference tables in references/state-machine.md are generated from here.
"""
from __future__ import annotations

from collections import namedtuple

State = namedtuple("State", "name kind agent phases description")
Transition = namedtuple("Transition", "source target guard")

LOAD, HYDRATE = "metaopt-load-campaign", "metaopt-hydrate-state"
BACKGROUND, SELECT = "metaopt-background-control", "metaopt-select-design"
REMOTE, CLOSE = "metaopt-remote-execution-control", "metaopt-iteration-close-control"

CONTROL_AGENTS = {
    LOAD: "scripts/load_campaign_handoff.py",
    HYDRATE: "scripts/hydrate_state_handoff.py",
    BACKGROUND: "scripts/background_control_handoff.py",
    SELECT: "scripts/select_and_design_handoff.py",
    REMOTE: "scripts/remote_execution_control_handoff.py",
    CLOSE: "scripts/iteration_close_control_handoff.py",
}
TERMINAL_PHASE = "stopped"

STATES = {s.name: s for s in [
    State("LOAD_CAMPAIGN", "init", LOAD, ("validate_campaign",),
          "Validate the campaign file and the preflight readiness artifact."),
    State("HYDRATE_STATE", "running", HYDRATE, ("hydrate_state",),
          "Set up the working state for iteration 1 (initial baseline) and install the AGENTS.md hook."),
    State("IDEATE", "running", BACKGROUND, ("plan_ideation",),
          "Build the proposal pool context and dispatch ideation workers."),
    State("WAIT_FOR_PROPOSALS", "running", BACKGROUND, ("gate_ideation",),
          "Collect and validate ideation results; retry bounded; fill the pool."),
    State("SELECT_AND_DESIGN_SWEEP", "running", SELECT, ("plan_selection", "finalize_selection"),
          "Dispatch the selection worker, then validate and finalize the sweep config."),
    State("LOCAL_SANITY", "running", REMOTE, ("request_smoke_test", "gate_smoke_test"),
          "Smoke-test one real point of the sweep for 60 s; nothing is spent before it passes."),
    State("LAUNCH_SWEEP", "running", REMOTE, ("request_launch", "confirm_launch"),
          "Check the budget, record the launch intent, launch or reconnect, read the launch result "
          "(the search sweep, its noise-floor re-runs or the random-search control)."),
    State("WAIT_FOR_SWEEP", "running", REMOTE, ("request_poll", "gate_poll"),
          "Poll the sweep: watchdog, spend ledger, budget; retry transient errors with backoff; "
          "record the noise floor or the control when theirs ends."),
    State("ANALYZE", "running", REMOTE, ("plan_analysis", "finalize_analysis"),
          "Dispatch the analysis worker; recompute improvement in code."),
    State("ROLL_ITERATION", "running", CLOSE, ("roll_iteration",),
          "Record the iteration, move the baseline (beyond the noise floor when measured), carry learnings, "
          "check stop conditions; run the random-search control before stopping when it is on."),
    State("COMPLETE", "terminal", None, (TERMINAL_PHASE,),
          "A stop condition was met (target, max iterations, plateau or budget); resumable once raised."),
    State("BLOCKED_CONFIG", "terminal", None, (TERMINAL_PHASE,),
          "The campaign, its preflight, its identity or the program needs the user; resumable after the fix."),
    State("BLOCKED_PROTOCOL", "terminal", None, (TERMINAL_PHASE,),
          "A worker or executor broke the protocol beyond the retry bound; resumable after the fix."),
    State("FAILED", "terminal", None, (TERMINAL_PHASE,),
          "The sweep or its launch failed for good; metaopt.py reset starts over."),
]}

TERMINAL_STATES = frozenset(n for n, s in STATES.items() if s.kind == "terminal")
BLOCKED_STATES = frozenset({"BLOCKED_CONFIG", "BLOCKED_PROTOCOL"})
RUNNING_STATES = tuple(n for n, s in STATES.items() if s.kind != "terminal")
INITIAL_STATE = "LOAD_CAMPAIGN"

# Where a campaign that a limit (budget, iterations, plateau, target) stopped continues once the user
# raised the limit: the launch it could not pay for, the analysis of a sweep the budget cut short, or
# the iteration close that found the limit.
LIMIT_RESUME_STATES = ("LAUNCH_SWEEP", "ANALYZE", "ROLL_ITERATION")

# Every running state after LOAD_CAMPAIGN re-validates the campaign and its identity each step
# (LOCAL_SANITY's move to BLOCKED_CONFIG has more causes, so it is listed with them).
_REVALIDATING = [n for n in RUNNING_STATES if n not in (INITIAL_STATE, "LOCAL_SANITY")]

TRANSITIONS = (
    [Transition("LOAD_CAMPAIGN", "HYDRATE_STATE", "campaign_valid_and_preflight_ready"),
     Transition("LOAD_CAMPAIGN", "BLOCKED_CONFIG", "campaign_invalid_or_preflight_not_ready"),
     Transition("HYDRATE_STATE", "IDEATE", "state_hydrated"),
     Transition("IDEATE", "WAIT_FOR_PROPOSALS", "ideation_dispatched"),
     Transition("IDEATE", "SELECT_AND_DESIGN_SWEEP", "carried_pool_sufficient"),
     Transition("WAIT_FOR_PROPOSALS", "WAIT_FOR_PROPOSALS", "ideation_pending_or_retried"),
     Transition("WAIT_FOR_PROPOSALS", "SELECT_AND_DESIGN_SWEEP", "proposal_pool_ready"),
     Transition("WAIT_FOR_PROPOSALS", "BLOCKED_PROTOCOL", "worker_attempts_exhausted"),
     Transition("SELECT_AND_DESIGN_SWEEP", "SELECT_AND_DESIGN_SWEEP", "selection_pending_or_retried"),
     Transition("SELECT_AND_DESIGN_SWEEP", "LOCAL_SANITY", "sweep_config_finalized"),
     Transition("SELECT_AND_DESIGN_SWEEP", "BLOCKED_PROTOCOL", "worker_attempts_exhausted"),
     Transition("LOCAL_SANITY", "LOCAL_SANITY", "smoke_test_pending"),
     Transition("LOCAL_SANITY", "LAUNCH_SWEEP", "smoke_test_passed"),
     Transition("LOCAL_SANITY", "BLOCKED_CONFIG", "campaign_invalid_smoke_test_failed_or_parameters_not_read"),
     Transition("LOCAL_SANITY", "SELECT_AND_DESIGN_SWEEP", "swept_parameters_not_read"),
     Transition("LOCAL_SANITY", "BLOCKED_PROTOCOL", "executor_attempts_exhausted"),
     Transition("LAUNCH_SWEEP", "LAUNCH_SWEEP", "launch_pending_or_retried"),
     Transition("LAUNCH_SWEEP", "WAIT_FOR_SWEEP", "sweep_launched"),
     Transition("LAUNCH_SWEEP", "COMPLETE", "budget_cannot_pay_for_launch_or_control_cannot_run"),
     Transition("LAUNCH_SWEEP", "ROLL_ITERATION", "noise_floor_turned_off"),
     Transition("LAUNCH_SWEEP", "FAILED", "launch_failed"),
     Transition("LAUNCH_SWEEP", "BLOCKED_PROTOCOL", "executor_attempts_exhausted"),
     Transition("WAIT_FOR_SWEEP", "WAIT_FOR_SWEEP", "sweep_running_or_poll_retried"),
     Transition("WAIT_FOR_SWEEP", "ANALYZE", "sweep_finished"),
     Transition("WAIT_FOR_SWEEP", "ROLL_ITERATION", "noise_floor_or_control_ended"),
     Transition("WAIT_FOR_SWEEP", "COMPLETE", "budget_exhausted"),
     Transition("WAIT_FOR_SWEEP", "FAILED", "sweep_failed"),
     Transition("WAIT_FOR_SWEEP", "BLOCKED_PROTOCOL", "executor_attempts_exhausted"),
     Transition("ANALYZE", "ANALYZE", "analysis_pending_or_retried"),
     Transition("ANALYZE", "ROLL_ITERATION", "analysis_recorded"),
     Transition("ANALYZE", "LAUNCH_SWEEP", "analysis_recorded_noise_floor_due"),
     Transition("ANALYZE", "BLOCKED_PROTOCOL", "worker_attempts_exhausted"),
     Transition("ROLL_ITERATION", "IDEATE", "continue_campaign"),
     Transition("ROLL_ITERATION", "COMPLETE", "stop_condition_met"),
     Transition("ROLL_ITERATION", "LAUNCH_SWEEP", "stop_condition_met_control_due")]
    + [Transition(n, "BLOCKED_CONFIG", "campaign_invalid_or_identity_changed") for n in _REVALIDATING]
    + [Transition(b, n, "resume_after_fix") for b in sorted(BLOCKED_STATES) for n in RUNNING_STATES]
    + [Transition("COMPLETE", n, "resume_after_limit_raised") for n in LIMIT_RESUME_STATES]
)
ALLOWED_TRANSITIONS = frozenset((t.source, t.target) for t in TRANSITIONS)

# Run when the campaign enters the terminal state. teardown applies only while resources are live.
TERMINAL_CLEANUP = {
    "COMPLETE": ("teardown", "remove_agents_hook", "emit_final_report"),
    "BLOCKED_CONFIG": ("teardown", "remove_agents_hook", "emit_final_report"),
    "BLOCKED_PROTOCOL": ("teardown", "remove_agents_hook", "emit_final_report"),
    "FAILED": ("teardown", "remove_agents_hook", "emit_final_report"),
}

# Which workers and directives each state may ask for (terminal cleanup is allowed on any
# transition into a terminal state).
STATE_WORKERS = {
    "IDEATE": ("metaopt-ideation-worker",),
    "WAIT_FOR_PROPOSALS": ("metaopt-ideation-worker",),
    "SELECT_AND_DESIGN_SWEEP": ("metaopt-selection-worker",),
    "ANALYZE": ("metaopt-analysis-worker",),
}
STATE_DIRECTIVES = {
    "HYDRATE_STATE": ("add_agents_hook",),
    "LOCAL_SANITY": ("run_smoke_test",),
    "LAUNCH_SWEEP": ("launch_sweep", "teardown"),
    "WAIT_FOR_SWEEP": ("poll_sweep", "teardown"),
    "ROLL_ITERATION": ("emit_iteration_report",),
}

EXECUTOR_DIRECTIVES = ("run_smoke_test", "launch_sweep", "poll_sweep", "teardown")
MECHANICAL_DIRECTIVES = ("add_agents_hook", "remove_agents_hook", "emit_iteration_report", "emit_final_report")
DIRECTIVE_TYPES = EXECUTOR_DIRECTIVES + MECHANICAL_DIRECTIVES

# Which control agent may patch which top-level state field. Engine fields are written only by
# the driver, from the envelope's outcome, block, pending and sequence fields.
FIELD_OWNERS = {
    "campaign": LOAD,
    "hydration": HYDRATE,
    "proposal_pool": BACKGROUND,
    "selected_sweep": SELECT,
    "current_sweep": REMOTE,
    "sanity": REMOTE,
    "spend_ledger": REMOTE,
    "analysis": REMOTE,
    "noise_floor": REMOTE,
    "control": REMOTE,
    "iteration": CLOSE,
    "baseline": CLOSE,
    "no_improve_streak": CLOSE,
}
# The history the handoffs append to (an envelope's `append` at the field's path): the engine writes
# the records to .ml-metaopt/history/ (contract/history.py), not into the state.
HISTORY_OWNERS = {
    "completed_iterations": CLOSE,
    "learnings": CLOSE,
}
ENGINE_FIELDS = ("schema_version", "machine_state", "status", "phase", "step_seq", "pending",
                 "block", "terminal", "history", "created_at", "updated_at")


def status_for(machine_state: str) -> str:
    """Derived status: RUNNING for non-terminal states, else the state's own name."""
    return machine_state if machine_state in TERMINAL_STATES else "RUNNING"


def governing_agent(machine_state: str):
    return STATES[machine_state].agent


def phases_of(machine_state: str) -> tuple:
    return STATES[machine_state].phases


def all_phases() -> list:
    return sorted({p for s in STATES.values() for p in s.phases})


def is_allowed(source: str, target: str) -> bool:
    return (source, target) in ALLOWED_TRANSITIONS


def guard_for(source: str, target: str):
    for t in TRANSITIONS:
        if (t.source, t.target) == (source, target):
            return t.guard
    return None


def states_governed_by(agent: str) -> list:
    return [n for n, s in STATES.items() if s.agent == agent]
