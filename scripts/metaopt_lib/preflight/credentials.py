"""Preflight checks of the cloud accounts: they say present or missing, never what a key is."""
from __future__ import annotations

import re
from pathlib import Path

from ..contract.bounds import max_bytes
from ..contract.regular_files import FileRefused, read_regular
from .results import fail as _fail, passed as _pass


def check_wandb_api_key(environ, home):
    if environ.get("WANDB_API_KEY", "").strip():
        return _pass("wandb-api-key", "W&B API key present (WANDB_API_KEY)")
    netrc = Path(environ.get("NETRC") or home / ".netrc")
    try:
        text = read_regular(netrc, str(netrc), max_bytes("small-text")).decode("utf-8", "replace")
    except FileRefused:  # missing, or not a file one can read (a FIFO must not hang the preflight)
        text = ""
    if re.search(r"(?m)\bmachine\s+api\.wandb\.ai\b", text):
        return _pass("wandb-api-key", "W&B API key present (netrc entry for api.wandb.ai)")
    return _fail("wandb-api-key", "W&B API key missing (no WANDB_API_KEY, no netrc entry for api.wandb.ai)",
                 "Run wandb login (it writes ~/.netrc), or set WANDB_API_KEY where the campaign runs.")


def check_vast_credentials(home):
    key = home / ".config" / "vastai" / "vast_api_key"
    try:
        present = key.is_file() and key.stat().st_size > 0
    except OSError:
        present = False
    if present:
        return _pass("skypilot-vast-credentials", "Vast.ai API key present (~/.config/vastai/vast_api_key)")
    return _fail("skypilot-vast-credentials", "Vast.ai API key missing (~/.config/vastai/vast_api_key)",
                 "Create an API key at cloud.vast.ai, run vastai set api-key with it, then sky check vast.")
