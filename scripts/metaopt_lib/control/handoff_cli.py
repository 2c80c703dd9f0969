"""The shared command line of the six handoff scripts: compute one control agent's envelope for the
current state without applying it (the driver applies; this is for hosts, debugging and audits)."""
from __future__ import annotations

import argparse
import json
import sys

from ..contract import machine, validation
from ..contract.conventions import EXIT_INVALID, EXIT_OK
from ..contract.issues import ContractError
from ..handoffs import HANDOFFS
from . import driver
from .state_store import CampaignDir


def main(agent, argv=None, out=None) -> int:
    out = out or sys.stdout
    states = machine.states_governed_by(agent)
    phases = [p for s in states for p in machine.phases_of(s)]
    parser = argparse.ArgumentParser(
        prog=machine.CONTROL_AGENTS[agent].rsplit("/", 1)[-1],
        description=f"Compute the {agent} handoff envelope ({', '.join(states)}) for the current state; "
                    "prints it and keeps a copy under .ml-metaopt/handoffs/previews/. "
                    "Exit 0 envelope, 1 envelope reporting invalid input (or no envelope possible), 2 usage.")
    parser.add_argument("--project-root", required=True, help="the training project")
    parser.add_argument("--phase", choices=phases, help="expected phase (refused if the state is elsewhere)")
    opts = parser.parse_args(argv)
    cdir = CampaignDir(opts.project_root)
    try:
        state = driver.read_state(cdir, write_migration=False)
        _check_position(state, agent, opts.phase)
        campaign, campaign_issues = cdir.campaign()
        inputs = driver.gather_inputs(cdir, state, campaign_issues, driver.now_utc())
        envelope = cdir.redactor.document(HANDOFFS[agent](state, campaign, inputs))
    except (ContractError, OSError) as exc:  # an input file the envelope needs is unusable (a trial table...)
        return _refused(driver.unusable_file_error(exc), out)
    except driver.StepError as exc:
        return _refused(exc, out)
    issues = validation.validate_document("handoff-envelope", envelope, "envelope", validation.Context(state=state))
    cdir.write_preview(envelope, inputs.now)
    out.write(json.dumps(envelope, indent=2) + "\n")
    bad_inputs = list(campaign_issues) + [i for r in inputs.results.values() for i in r.issues] + issues
    for issue in bad_inputs:
        print(issue.message, file=sys.stderr)
    return EXIT_INVALID if bad_inputs else EXIT_OK


def _refused(exc, out) -> int:
    out.write(json.dumps(exc.report, indent=2) + "\n")
    print(exc.report["error"]["message"], file=sys.stderr)
    return EXIT_INVALID


def _check_position(state, agent, phase):
    governing = machine.governing_agent(state["machine_state"])
    if governing != agent:
        raise driver.StepError("not-blocked" if governing is None else "envelope-refused",
                               f"the campaign is in {state['machine_state']}, governed by {governing or 'no agent'}",
                               "Run the governing agent's handoff, or metaopt.py step.")
    if phase is not None and phase != state["phase"]:
        raise driver.StepError("envelope-refused", f"the state is at phase {state['phase']}, not {phase}",
                               f"Run without --phase or with --phase {state['phase']}.")
