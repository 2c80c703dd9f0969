"""Readings of a campaign state that several layers share: the sweep's identity, pending records,
the budget, the value to beat, and the direction-aware improvement rule."""
from __future__ import annotations


def sweep_identity(state) -> str:
    return f"{state['campaign']['name']}-iter-{state['iteration']}"


def iteration_closed(state) -> bool:
    """Whether the current iteration's record is in the history already (it is counted once)."""
    return state["history"]["iterations"]["last_iteration"] == state["iteration"]


def pending_of(state, name):
    """Pending records of one worker or directive type, oldest first."""
    return [p for p in state["pending"] if p["name"] == name]


def budget_snapshot(state) -> dict:
    ledger = state["spend_ledger"]
    cap, spent = ledger["max_budget_usd"], ledger["total_usd"]
    return {"max_budget_usd": cap, "spent_usd": spent, "remaining_usd": round(max(0.0, cap - spent), 6)}


def effective_baseline(state):
    """The value to beat: state.baseline, else the campaign's initial baseline, else None."""
    if state["baseline"] is not None:
        return state["baseline"]
    hydration = state["hydration"]
    return hydration["initial_baseline"] if hydration else None


def improves(value, baseline, direction, threshold) -> bool:
    """Direction-aware improvement with the absolute threshold; anything beats no baseline."""
    if value is None:
        return False
    if baseline is None:
        return True
    return value > baseline + threshold if direction == "maximize" else value < baseline - threshold
