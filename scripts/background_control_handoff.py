#!/usr/bin/env python3
"""Handoff of control agent metaopt-background-control (IDEATE and WAIT_FOR_PROPOSALS).

Usage: python3 scripts/background_control_handoff.py --project-root DIR [--phase PHASE]

Computes the agent's envelope for the current state (references/control-protocol.md) without
applying it; prints it and keeps a copy under .ml-metaopt/handoffs/previews/.
Exit codes: 0 envelope, 1 envelope reporting invalid input (or no envelope possible), 2 usage.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.control.handoff_cli import main as handoff_main  # noqa: E402

AGENT = "metaopt-background-control"


def main(argv=None, out=None) -> int:
    return handoff_main(AGENT, argv, out)


if __name__ == "__main__":
    raise SystemExit(main())
