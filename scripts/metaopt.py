#!/usr/bin/env python3
"""Drive an ml-metaoptimization campaign: each step does all the mechanical work it can and prints
the one decision the host must act on.

Usage:
  python3 scripts/metaopt.py step   --project-root DIR [--json] [--max-wait SECONDS] [--no-executor] [--now TIME]
  python3 scripts/metaopt.py resume --project-root DIR [--json] [--max-wait SECONDS] [--no-executor] [--now TIME]
  python3 scripts/metaopt.py status --project-root DIR [--json] [--now TIME]
  python3 scripts/metaopt.py reset  --project-root DIR [--json]
  python3 scripts/metaopt.py best   --project-root DIR [--json]
  python3 scripts/metaopt.py run    --project-root DIR [--workers heuristic|codex|claude|copilot] [--max-parallel N]
                                    [--worker-timeout SECONDS] [--resume] [--json]

run     runs the whole campaign: steps (the executor inside), hands every worker task to the built-in
        heuristic workers or to a worker CLI (Codex, Claude Code, Copilot CLI), and stops when the
        campaign does. Progress goes to stderr; --json prints one document at the end
        (references/schemas/run-output.schema.json). Interrupted (Ctrl-C, SIGTERM, a kill), the same
        command continues; --resume first continues a stopped campaign, as resume does.

step    chains engine steps: runs the governing control agents, applies their envelopes atomically,
        carries out mechanical directives, runs the executor (smoke test, launch, poll, teardown) as
        a child process and sleeps through waits, until workers must be dispatched, the campaign
        stopped, or --max-wait seconds (default 100) passed. Then it prints the action:
        dispatch_workers, step (again), or stop.
resume  continues a stopped campaign once the cause is fixed, then carries on as step does: a
        BLOCKED_CONFIG or BLOCKED_PROTOCOL one at its recorded resume point, a COMPLETE one that a
        limit stopped (budget, iterations, plateau, target) once the campaign file raised it.
status  prints where the campaign is, what it waits for, the current sweep's progress and spend (with
        its projection at the run cap), the best configuration so far and the last steps (read-only;
        references/schemas/status-output.schema.json).
best    prints the best configuration so far, its metric value, run and iteration, and the command
        that runs the program once more with it (read-only; references/schemas/best-output.schema.json).
reset   archives the whole campaign under .ml-metaopt/archive/<timestamp>/; the next step starts it
        afresh from the campaign file. Refused while a sweep may still run or bill.

--no-executor hands executor commands to the host (action run_executor) instead of starting them,
for a host whose sandbox forbids a step from starting long-lived processes or reaching the network.
--now TIME evaluates every time rule at that UTC time (replays and tests): the step then neither
sleeps nor runs the executor; status measures elapsed time to it.

With --json, stdout is one compact JSON document (references/schemas/step-output.schema.json for
step and resume); without it, a short text for people. Exit codes: 0 ok, 1 the step could not run
(invalid campaign or state, nothing changed; an error report is printed), 2 usage, 3 busy (another
process holds the campaign's lock; nothing changed). run also exits 4 when the campaign stopped
without completing (FAILED or BLOCKED_*: the output says why and what to do) and 130 when interrupted.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract.clock import format_time, parse_time  # noqa: E402
from metaopt_lib.contract.conventions import (EXIT_BUSY, EXIT_INTERRUPTED, EXIT_INVALID, EXIT_OK,  # noqa: E402
                                              EXIT_STOPPED)
from metaopt_lib.control import driver, loop  # noqa: E402
from metaopt_lib.dispatch import DEFAULT_MAX_PARALLEL, DISPATCHERS  # noqa: E402
# What only one command needs (run, reset, the text views) is imported by that command: a step
# process loads no more than a step uses.

COMMANDS = ("best", "reset", "resume", "run", "status", "step")


def build_parser():
    parser = argparse.ArgumentParser(prog="metaopt.py", description="Drive a campaign: each step does the "
                                     "mechanical work and prints the one action for the host. "
                                     "Exit 0 ok, 1 could not run (nothing changed), 2 usage, 3 busy.")
    parser.add_argument("command", choices=COMMANDS, help="step, resume, status, reset, run or best")
    parser.add_argument("--project-root", required=True, help="the training project (holds ml_metaopt_campaign.yaml)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--max-wait", type=_seconds, metavar="SECONDS", default=loop.DEFAULT_MAX_WAIT_SECONDS,
                        help=f"return to the host after at most this long (default "
                             f"{loop.DEFAULT_MAX_WAIT_SECONDS}; 0 to {loop.MAX_WAIT_LIMIT_SECONDS})")
    parser.add_argument("--no-executor", action="store_true", help="print executor commands for the host to "
                        "run instead of running them")
    parser.add_argument("--now", metavar="TIME", help="evaluate time rules at this UTC time (RFC 3339) instead "
                        "of the clock, without sleeping or running the executor: for replays and tests")
    group = parser.add_argument_group("run")
    group.add_argument("--workers", choices=DISPATCHERS, default="heuristic",
                       help="who answers worker tasks: the built-in heuristic workers (default) or a worker CLI")
    group.add_argument("--max-parallel", type=_count, default=DEFAULT_MAX_PARALLEL, metavar="N",
                       help=f"worker tasks run at once (default {DEFAULT_MAX_PARALLEL})")
    group.add_argument("--worker-timeout", type=_positive_seconds, metavar="SECONDS",
                       help="stop a worker CLI after this long (default: the campaign's worker_timeout_minutes)")
    group.add_argument("--resume", action="store_true", help="first continue a stopped campaign (as resume does)")
    return parser


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= loop.MAX_WAIT_LIMIT_SECONDS:
        raise argparse.ArgumentTypeError(f"not a number of seconds from 0 to {loop.MAX_WAIT_LIMIT_SECONDS}: {text}")
    return value


def _count(text):
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"not a whole number from 1 to 64: {text}")
    return int(text)


def _positive_seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"not a number of seconds above 0 and at most 86400: {text}")
    return value


def _checked_time(text):
    try:
        moment = parse_time(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or not 1970 <= moment.year <= 2999:
        build_parser().error(f"--now: not an RFC 3339 time with a zone between 1970 and 2999: {text}")
    return format_time(moment)


def options_from(opts, clock=None, executor=None) -> loop.StepOptions:
    """The step's options; `clock` and `executor` are the test seam (a simulated clock, a stand-in)."""
    changes = {"max_wait": opts.max_wait}
    if executor is not None:
        changes["executor"] = executor
    if opts.now is not None:
        return loop.StepOptions.frozen_at(_checked_time(opts.now), **changes)
    if clock is not None:
        changes["clock"] = clock
    return loop.StepOptions(run_executor=not opts.no_executor, **changes)


def run_options(opts, clock=None, executor=None, progress=None):
    from metaopt_lib.control import run as run_lib

    step = options_from(opts, clock, executor)
    changes = {} if progress is None else {"progress": progress}
    return run_lib.RunOptions(workers=opts.workers, max_parallel=opts.max_parallel, worker_timeout=opts.worker_timeout,
                              resume=opts.resume, step=step._replace(max_wait=min(opts.max_wait,
                                                                                   run_lib.RUN_STEP_SECONDS)),
                              **changes)


def main(argv=None, out=None, clock=None, executor=None, progress=None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    opts = parser.parse_args(argv)
    if opts.command == "run" and (opts.no_executor or opts.now):
        parser.error("run carries out the executor itself: --no-executor and --now are for step and resume")
    try:
        if opts.command == "run":
            from metaopt_lib.control.run import run

            document = run(opts.project_root, run_options(opts, clock, executor, progress))
            code = _run_exit_code(document)
            if opts.json:
                out.write(json.dumps(document, separators=(",", ":")) + "\n")
            return code
        if opts.command == "status":
            from metaopt_lib.control.read_views import status

            document = status(opts.project_root, _checked_time(opts.now) if opts.now
                              else clock.now() if clock is not None else None)
        elif opts.command == "best":
            from metaopt_lib.control.read_views import best

            document = best(opts.project_root)
        elif opts.command == "reset":
            from metaopt_lib.control.reset import reset

            moment = _checked_time(opts.now) if opts.now else driver.now_utc()
            document = driver.locked(opts.project_root, lambda cdir: reset(cdir, moment))
        else:
            run = loop.step if opts.command == "step" else loop.resume
            document = run(opts.project_root, options_from(opts, clock, executor))
        code = EXIT_OK
    except driver.StepError as exc:
        document = exc.report
        code = EXIT_BUSY if exc.report["error"]["code"] == "busy" else EXIT_INVALID
        print(exc.report["error"]["message"], file=sys.stderr)
    if opts.json:
        text = json.dumps(document, separators=(",", ":"))
    elif opts.command == "best" and "error" not in document:
        from metaopt_lib.report.best import best_text

        text = best_text(document)
    else:
        from metaopt_lib.control.text_views import render

        text = render(opts.command, document)
    out.write(text + "\n")
    return code


def _run_exit_code(document) -> int:
    if document["interrupted"]:
        return EXIT_INTERRUPTED
    return EXIT_OK if document["stop"]["terminal_state"] == "COMPLETE" else EXIT_STOPPED


if __name__ == "__main__":
    raise SystemExit(main())
