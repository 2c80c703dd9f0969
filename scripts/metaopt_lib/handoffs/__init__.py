"""The six control agents, each a pure function: handoff(state, campaign, inputs) -> envelope.

Owns what each machine state decides (which workers to launch, which directives to issue, when to
wait, retry, block or stop) and the envelope builder they share. Everything read from disk arrives
through `inputs`; nothing here touches a file or a process. It imports only the contract.
"""
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
