"""One pure handoff function per control agent: handoff(state, campaign, inputs) -> envelope."""
from ..contract import machine
from . import (background_control, hydrate_state, iteration_close, load_campaign, remote_execution,
               select_and_design)

HANDOFFS = {
    machine.LOAD: load_campaign.handoff,
    machine.HYDRATE: hydrate_state.handoff,
    machine.BACKGROUND: background_control.handoff,
    machine.SELECT: select_and_design.handoff,
    machine.REMOTE: remote_execution.handoff,
    machine.CLOSE: iteration_close.handoff,
}
