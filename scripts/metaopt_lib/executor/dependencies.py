"""Optional heavy dependencies, imported only when a backend needs them, with an install hint."""
from __future__ import annotations

import importlib

INSTALL_HINTS = {
    "optuna": 'pip install "optuna>=4,<6"  (the local backend\'s search engine)',
    "wandb": 'pip install "wandb>=0.31"  (W&B sweeps for the skypilot backend)',
    "sky": 'pip install "skypilot[vast]>=0.14"  (SkyPilot with Vast.ai for the skypilot backend)',
}


class MissingDependency(Exception):
    """A backend needs a package that is not installed; the message says how to install it."""

    def __init__(self, module: str):
        self.module = module
        super().__init__(f"the Python package '{module}' is not installed; {INSTALL_HINTS.get(module, '')}".strip())


def require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module) from exc


def require_optuna():
    return require("optuna")
