"""Built-in heuristic workers: ideation, selection and analysis without an LLM.

Each reads a worker task (references/schemas/worker-task.schema.json) and returns its result
document; the same history always gives the same answer. They are the default of
`metaopt.py run --workers heuristic` and the baseline an LLM campaign can be compared with.
Imports only the contract (and Optuna, for parameter importance)."""
from __future__ import annotations


def answer(task: dict) -> dict:
    """The result document for a valid worker task."""
    from .analysis import analyze
    from .ideation import ideate
    from .selection import select

    lanes = {"metaopt-ideation-worker": ideate, "metaopt-selection-worker": select,
             "metaopt-analysis-worker": analyze}
    return lanes[task["worker"]](task)
