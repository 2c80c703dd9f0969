#!/usr/bin/env python3
"""skypilot-wandb-worker: the executor. Carries out one executor directive (run_smoke_test,
launch_sweep, poll_sweep, teardown) and writes its executor result to the directive's result_path.

Usage:
  python3 scripts/skypilot_wandb_worker.py run --project-root DIR --directive FILE [--wait-limit SECONDS]
                                             [--dry-run]

The backend is the directive's (compute.backend): local (this machine; needs optuna) or skypilot
(W&B + SkyPilot + Vast.ai; needs wandb and skypilot). Running the same directive twice is safe: a
launch reconnects to the sweep with the same identity instead of starting a second one, and a
finished smoke test, launch or teardown answers from the result it already wrote.
A poll may wait for its sweep to end before it answers, up to the directive's max_wait_seconds (the
local backend answers as soon as its runner has finished); --wait-limit lowers that bound.
--dry-run validates the directive and prints what would be done, changing nothing.
One executor at a time carries out a directive: a second run of the same one waits for the first.

Prints one JSON document on stdout (the executor result, the dry-run plan, or why the directive was
refused); diagnostics go to stderr. Both, and every file it writes, show secrets as [REDACTED]
(references/secrets.md); a smoke test or sweep still runs with the campaign's real values.

Exit codes: 0 done (status ok), 1 failed (the result or report says why), 2 usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract.campaign_secrets import project_redactor  # noqa: E402
from metaopt_lib.contract.conventions import EXIT_INVALID, EXIT_USAGE  # noqa: E402
from metaopt_lib.executor import core  # noqa: E402
from metaopt_lib.executor.outcome import ExecContext  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _seconds(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"not a number of seconds between 0 and 3600: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="skypilot_wandb_worker.py", description="Run one executor directive and write its "
                     "result. Exit 0 ok, 1 failed, 2 usage.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="carry out one directive")
    run.add_argument("--project-root", required=True, help="the project directory (holds .ml-metaopt/)")
    run.add_argument("--directive", required=True, help="the directive JSON file")
    run.add_argument("--wait-limit", type=_seconds, metavar="SECONDS",
                     help="wait at most this long in a poll for the sweep to end (default: the directive's bound)")
    run.add_argument("--dry-run", action="store_true", help="validate and print the plan; change nothing")
    runner = commands.add_parser("local-runner", help="internal: the detached local sweep runner")
    runner.add_argument("--sweep-dir", required=True, help=argparse.SUPPRESS)
    return parser


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    opts = parser.parse_args(argv)
    if opts.command == "local-runner":
        from metaopt_lib.executor.local.sweep import SweepFiles
        from metaopt_lib.executor.redacted_output import redact_standard_streams

        # Before the runner's modules are imported: their loggers keep the stream they find then.
        redact_standard_streams(project_redactor(SweepFiles(Path(opts.sweep_dir)).project_root, os.environ))
        from metaopt_lib.executor.local.runner import run_runner

        code = run_runner(Path(opts.sweep_dir))
        sys.stdout.flush()
        sys.stderr.flush()
        # Exit at once: the runner lock is released by the kernel only when this process is gone,
        # so nobody sees "runner stopped" while it is still tearing down its interpreter.
        os._exit(code)
    root = Path(opts.project_root)
    if not root.is_dir():
        parser.error(f"--project-root: not a directory: {opts.project_root}")
    ctx = ExecContext(root.resolve(), wait_limit=opts.wait_limit)
    redactor = project_redactor(ctx.project_root, ctx.env)
    try:
        code, document = core.run(opts.directive, ctx, dry_run=opts.dry_run)
    except core.DirectiveRefused as exc:
        document, code = exc.report(), EXIT_INVALID
        print(redactor.text(f"skypilot_wandb_worker.py: {exc.message}"), file=sys.stderr)
        for issue in exc.issues:
            print(redactor.text(f"  {issue.message}"), file=sys.stderr)
    document = redactor.document(document)
    out.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    if document.get("error"):
        print(f"skypilot_wandb_worker.py: {document['error'].get('code')}: {document['error'].get('message')}",
              file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
