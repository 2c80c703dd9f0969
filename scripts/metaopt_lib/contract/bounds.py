"""How large each kind of file from outside the process may be before it is parsed, and why.

A reader refuses a larger file before parsing it (regular_files.read_regular stops at the bound),
so no input can make a step slow or hungry: YAML parses at roughly a megabyte in a few seconds and a
JSON document of many small objects costs far more memory than its bytes. Each bound leaves ample
room above the largest real file of its kind; references/contracts.md shows this table.
"""
from __future__ import annotations

from collections import namedtuple

Bound = namedtuple("Bound", "max_bytes reason")

KiB, MiB = 1024, 1024 * 1024

READ_BOUNDS = {
    "campaign": Bound(256 * KiB, "a campaign is a few kilobytes of YAML written by hand; a search_space of "
                                 "hundreds of values fits many times over, and YAML is the slowest format to parse"),
    "state": Bound(64 * MiB, "the state keeps what the next step needs, a few kilobytes whatever the campaign's "
                             "length (its history is in history/), but a version 4 state to migrate keeps every "
                             "completed iteration, about 1.1 KB each: tens of thousands fit"),
    "history-iteration": Bound(256 * KiB, "one completed iteration: its best run's configuration and counts"),
    "history-learning": Bound(64 * KiB, "one learning: one line of text"),
    "history-ledger": Bound(64 * KiB, "one spend entry"),
    "history-file": Bound(256 * MiB, "a history file of the campaign: about 1.1 KB per completed iteration, far "
                                     "less per learning or spend entry, for campaigns of tens of thousands of "
                                     "iterations"),
    "handoff-envelope": Bound(4 * MiB, "an envelope carries one step's worker tasks and directives"),
    "directive": Bound(1 * MiB, "a directive carries one sweep config and a command, a few kilobytes"),
    "executor-result": Bound(1 * MiB, "a result's logs are tails of bounded lines, its listings capped by its "
                                      "schema: a few kilobytes"),
    "worker-task": Bound(4 * MiB, "a task carries the campaign and a history capped at 200 trials"),
    "ideation-result": Bound(256 * KiB, "at most 5 proposals of bounded strings and one sweep config each"),
    "selection-result": Bound(256 * KiB, "one choice, one sweep config and a bounded rationale"),
    "analysis-result": Bound(256 * KiB, "bounded learnings and notes"),
    "preflight-readiness": Bound(1 * MiB, "a list of checks of one line each"),
    "sweep-config": Bound(1 * MiB, "a W&B sweep config is a few kilobytes"),
    "trial-table": Bound(32 * MiB, "one row of about 1 KB per trial of the sweep, for sweeps of many thousands "
                                   "of trials"),
    "step-output": Bound(1 * MiB, "a step prints one action of a few hundred bytes"),
    "run-output": Bound(1 * MiB, "a run prints one summary of a few kilobytes"),
    "status-output": Bound(1 * MiB, "a status view of a few kilobytes: one sweep, one run's configuration, five "
                                    "journal lines"),
    "best-output": Bound(1 * MiB, "one configuration and one command"),
    "worker-registry": Bound(1 * MiB, "the skill's own workers.yaml, a few kilobytes"),
    "install-manifest": Bound(2 * MiB, "one line per file of the installed skill, a few hundred lines"),
    "install-output": Bound(4 * MiB, "one line per file of the installed skill and one per problem"),
    "executor-record": Bound(64 * MiB, "the executor's own sweep records; a cloud record may list up to 100,000 "
                                       "killed runs"),
    "worker-message": Bound(1 * MiB, "a worker CLI's final message: one result document"),
    "agents-md": Bound(4 * MiB, "the user's AGENTS.md, to which the skill adds (and from which it removes) one "
                                "block"),
    "small-text": Bound(64 * KiB, "a stop request, a marker or a credentials file: a few lines"),
}


def max_bytes(kind: str) -> int:
    return READ_BOUNDS[kind].max_bytes
