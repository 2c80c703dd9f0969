"""Worker dispatchers for `metaopt.py run`: each hands one worker task to a worker and leaves its
result file behind (the worker's own, or a `failed` result saying why there is none). Behind one
interface: `check_available()` (raises CliMissing with how to install the CLI) and `dispatch(job)`
(returns a short note). Imports the contract and the heuristic workers only."""
from __future__ import annotations

import importlib

DISPATCHERS = ("heuristic", "codex", "claude", "copilot")
# Worker tasks `metaopt.py run` hands out at once (--max-parallel).
DEFAULT_MAX_PARALLEL = 4


def dispatcher(name: str):
    if name not in DISPATCHERS:
        raise ValueError(f"unknown worker dispatcher {name!r}; expected one of {', '.join(DISPATCHERS)}")
    return importlib.import_module(f".{name}", __name__)
