"""Every trial of a campaign, in campaign order: the trial tables the polls wrote
(.ml-metaopt/trials/<sweep_identity>.json), one per sweep, read back by the file rules. Besides each
iteration's search sweep, a campaign with honesty settings ran noise-floor re-runs and a control."""
from __future__ import annotations

import os
from pathlib import Path

from ..contract import validation
from ..contract.paths import trial_table_path


def sweeps_of(state) -> list:
    """(iteration, sweep_identity, purpose) of every sweep the campaign ran or runs, oldest first."""
    sweeps = []
    for record in state["completed_iterations"]:
        sweeps.append((record["iteration"], record["sweep_identity"], "search"))
        if record.get("noise_floor"):
            sweeps.append((record["iteration"], record["noise_floor"]["sweep_identity"], "noise_floor"))
    later = [(record["iteration"], record["sweep_identity"], purpose)
             for purpose, record in (("noise_floor", state.get("noise_floor")), ("control", state.get("control")))
             if record]
    current = state["current_sweep"]
    if current is not None:
        later.append((current["iteration"], current["sweep_identity"], current.get("purpose", "search")))
    known = {identity for _, identity, _ in sweeps}
    for entry in later:
        if entry[1] not in known:
            sweeps.append(entry)
            known.add(entry[1])
    return sweeps


def read_tables(project_root, state) -> tuple[list, dict, list]:
    """(trials, spaces, problems): each trial a trial-table row with `iteration`, `sweep_identity`,
    `purpose` and `trial` (its number in its sweep, from 1) added; spaces: iteration -> the search
    sweep's space or None; problems: one line per table that could not be read (the report says so
    and goes on)."""
    root = Path(project_root)
    trials, spaces, problems = [], {}, []
    for iteration, identity, purpose in sweeps_of(state):
        rel = trial_table_path(identity)
        if purpose == "search":
            spaces[iteration] = None
        if not os.path.lexists(root / rel):
            continue
        document, issues = validation.load_and_validate("trial-table", root / rel, label=rel, within=root)
        if issues:
            problems.append(issues[0].message)
            continue
        if purpose == "search":
            spaces[iteration] = document["space"]
        for number, row in enumerate(document["trials"], start=1):
            trials.append(dict(row, iteration=iteration, sweep_identity=identity, purpose=purpose, trial=number))
    return trials, spaces, problems


def search_trials(trials) -> list:
    """The trials of the search sweeps: what the campaign's agents explored (the charts, the top trials)."""
    return [t for t in trials if t.get("purpose", "search") == "search"]
