#!/usr/bin/env python3
"""Drive an ml-metaoptimization campaign one safe step at a time (the host loop in code).

Usage:
  python3 scripts/metaopt.py step   --project-root DIR [--json] [--now TIME]
  python3 scripts/metaopt.py status --project-root DIR [--json]
  python3 scripts/metaopt.py resume --project-root DIR [--json] [--now TIME]

step    picks the phase from state, runs the governing control agent, validates and applies its
        envelope atomically, carries out the mechanical directives, and prints the single next
        action: dispatch workers, run an executor command, wait until a time, or stop.
status  prints where the campaign is (read-only).
resume  continues a BLOCKED_CONFIG or BLOCKED_PROTOCOL campaign at its recorded resume point once
        the cause is fixed, re-validating the campaign first.

With --json, stdout is one JSON document (references/schemas/step-output.schema.json for step
and resume); without it, a short text for people. Exit codes: 0 ok, 1 the step could not run
(invalid campaign or state, nothing changed; an error report is printed), 2 usage, 3 busy
(another process holds the campaign's lock; nothing changed).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract.clock import format_time, parse_time  # noqa: E402
from metaopt_lib.contract.conventions import EXIT_BUSY, EXIT_INVALID, EXIT_OK  # noqa: E402
from metaopt_lib.control import driver  # noqa: E402
from metaopt_lib.control.text_views import render  # noqa: E402

COMMANDS = {"step": driver.step, "status": driver.status, "resume": driver.resume}


def build_parser():
    parser = argparse.ArgumentParser(prog="metaopt.py", description="Drive a campaign one safe step at a time. "
                                     "Exit 0 ok, 1 could not run (nothing changed), 2 usage, 3 busy.")
    parser.add_argument("command", choices=sorted(COMMANDS), help="step, status or resume")
    parser.add_argument("--project-root", required=True, help="the training project (holds ml_metaopt_campaign.yaml)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--now", metavar="TIME", help="evaluate time rules at this UTC time (RFC 3339) instead "
                        "of the clock: for replays and tests")
    return parser


def _checked_time(text):
    if text is None:
        return None
    try:
        moment = parse_time(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 1970 <= moment.year <= 2999:
        build_parser().error(f"--now: not an RFC 3339 time with a zone between 1970 and 2999: {text}")
    return format_time(moment)


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    opts = build_parser().parse_args(argv)
    try:
        if opts.command == "status":
            document = driver.status(opts.project_root)
        else:
            document = COMMANDS[opts.command](opts.project_root, now=_checked_time(opts.now))
        code = EXIT_OK
    except driver.StepError as exc:
        document = exc.report
        code = EXIT_BUSY if exc.report["error"]["code"] == "busy" else EXIT_INVALID
        print(exc.report["error"]["message"], file=sys.stderr)
    out.write((json.dumps(document, indent=2) if opts.json else render(opts.command, document)) + "\n")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
