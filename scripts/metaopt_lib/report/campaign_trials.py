"""Every trial of a campaign, in campaign order: the trial tables the polls wrote
(.ml-metaopt/trials/<sweep_identity>.json), one per sweep, read back by the file rules."""
from __future__ import annotations

import os
from pathlib import Path

from ..contract import validation
from ..contract.paths import trial_table_path


def sweeps_of(state) -> list:
    """(iteration, sweep_identity) of every sweep the campaign ran or runs, oldest first."""
    sweeps = [(r["iteration"], r["sweep_identity"]) for r in state["completed_iterations"]]
    current = state["current_sweep"]
    if current is not None and (current["iteration"], current["sweep_identity"]) not in sweeps:
        sweeps.append((current["iteration"], current["sweep_identity"]))
    return sweeps


def read_tables(project_root, state) -> tuple[list, dict, list]:
    """(trials, spaces, problems): each trial a trial-table row with `iteration`, `sweep_identity` and
    `trial` (its number in its sweep, from 1) added; spaces: iteration -> the sweep's space or None;
    problems: one line per table that could not be read (the report says so and goes on)."""
    root = Path(project_root)
    trials, spaces, problems = [], {}, []
    for iteration, identity in sweeps_of(state):
        rel = trial_table_path(identity)
        spaces[iteration] = None
        if not os.path.lexists(root / rel):
            continue
        document, issues = validation.load_and_validate("trial-table", root / rel, label=rel, within=root)
        if issues:
            problems.append(issues[0].message)
            continue
        spaces[iteration] = document["space"]
        for number, row in enumerate(document["trials"], start=1):
            trials.append(dict(row, iteration=iteration, sweep_identity=identity, trial=number))
    return trials, spaces, problems

