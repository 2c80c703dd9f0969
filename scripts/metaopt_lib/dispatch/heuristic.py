"""The built-in heuristic workers as a dispatcher: no CLI, no model, answered in this process."""
from __future__ import annotations

from .. import heuristic
from .jobs import WorkerJob

NAME = "heuristic"


def check_available() -> None:
    """Always available (Optuna, a runtime dependency, gives parameter importance)."""


def dispatch(job: WorkerJob) -> str:
    job.write_result(heuristic.answer(job.task()))
    return "answered by the built-in heuristic"
