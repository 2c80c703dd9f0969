"""metaopt-hydrate-state: HYDRATE_STATE / hydrate_state.

Records when the campaign was hydrated and its initial baseline (objective.baseline, if given),
asks the driver to put the resume hook into AGENTS.md, and starts iteration 1 at IDEATE.

The initial baseline is what iteration 1 must beat until a sweep sets state.baseline (see
handoff_common.effective_baseline). The hook block is removed by every terminal transition's
cleanup and put back by the driver on resume, so a new host session finds a running campaign and
only a running one.
"""
from __future__ import annotations

from ..contract import machine
from .common import hook_text, run_phase

AGENTS_MD_PATH = "AGENTS.md"


def hydrate(state, campaign, inputs, builder) -> dict:
    name = campaign["campaign"]["name"]
    builder.set("/hydration", {"hydrated_at": inputs.now, "initial_baseline": initial_baseline(campaign)})
    builder.directive("add_agents_hook", {"agents_md_path": AGENTS_MD_PATH, "marker": name,
                                          "text": hook_text(name)})
    return builder.advance("IDEATE", "plan_ideation", f"Hydrated campaign {name}; iteration 1 starts with ideation.")


def initial_baseline(campaign):
    """The campaign's objective.baseline as a baseline record, or None when it gives none."""
    value = campaign["objective"].get("baseline")
    return None if value is None else {"metric_value": value, "source": "campaign"}


PHASES = {("HYDRATE_STATE", "hydrate_state"): hydrate}


def handoff(state, campaign, inputs) -> dict:
    return run_phase(machine.HYDRATE, PHASES, state, campaign, inputs)
