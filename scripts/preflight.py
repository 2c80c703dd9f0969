#!/usr/bin/env python3
"""metaopt-preflight: check once that a project can run its campaign, and record the answer.

Usage:
  python3 scripts/preflight.py --project-root DIR

Reads DIR/ml_metaopt_campaign.yaml, runs every check (the campaign validates, Python and the
runtime packages, the training program exists, the smoke test command splits, the executor is
installed, and what the campaign's compute.backend needs), writes
DIR/.ml-metaopt/preflight-readiness.json atomically and prints it. Never runs the training program,
installs anything or logs in; a key is recorded as present or missing, never its value. A field of
the campaign that holds a secret is a warning (check campaign-secrets, and one line on stderr naming
its JSON path and the fix), never a failure.

When the campaign cannot be identified (missing, unparsable, or without its identity fields) or the
artifact cannot be written, nothing is written and a JSON report {artifact: null, error, checks}
says why.

Exit codes: 0 READY, 1 FAILED (the artifact is still written) or nothing written, 2 usage error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract.conventions import EXIT_INVALID, EXIT_OK, EXIT_USAGE  # noqa: E402 (needs no package)

try:
    from metaopt_lib.preflight import checks as preflight  # noqa: E402
except ImportError as exc:  # PyYAML or jsonschema missing: still answer with a JSON report
    preflight, IMPORT_ERROR = None, exc
else:
    IMPORT_ERROR = None


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"preflight.py: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="preflight.py", description="Check that a project can run its campaign and write "
                     ".ml-metaopt/preflight-readiness.json; prints it. Exit 0 READY, 1 FAILED or nothing "
                     "written, 2 usage.")
    parser.add_argument("--project-root", required=True, metavar="DIR",
                        help="the training project (holds ml_metaopt_campaign.yaml)")
    return parser


def _print(out, document) -> None:
    out.write(json.dumps(document, indent=2) + "\n")


def _not_written(out, code, message, fix, checks=()) -> int:
    _print(out, {"schema_version": 1, "artifact": None, "error": {"code": code, "message": message, "fix": fix},
                 "checks": list(checks)})
    print(f"preflight.py: {message}", file=sys.stderr)
    return EXIT_INVALID


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    opts = parser.parse_args(argv)
    root = Path(opts.project_root)
    if not root.is_dir():
        parser.error(f"--project-root: not a directory: {opts.project_root}")
    if preflight is None:
        return _not_written(out, "runtime-packages-missing", f"No artifact written: a runtime package does not import "
                            f"({IMPORT_ERROR.name or IMPORT_ERROR}).",
                            "python3 -m pip install -r <skill>/requirements.txt, then run the preflight again.")
    outcome = preflight.run(root)
    for warning in outcome.warnings:
        print(f"preflight.py: warning: {warning}", file=sys.stderr)
    if outcome.artifact is None:
        _print(out, outcome.report())
        print(f"preflight.py: {outcome.error['message']}", file=sys.stderr)
        return EXIT_INVALID
    try:
        path = preflight.write(root, outcome.artifact)
    except OSError as exc:
        return _not_written(out, "artifact-not-writable",
                            f"No artifact written: cannot write {preflight.PREFLIGHT_FILE} ({exc.strerror}).",
                            "Make the project directory writable, then run the preflight again.", outcome.checks)
    _print(out, outcome.artifact)
    for failure in outcome.artifact["failures"]:
        print(f"preflight.py: {failure['check']}: {failure['message']} Fix: {failure['fix']}", file=sys.stderr)
    print(f"preflight.py: {outcome.artifact['status']}, written to {path}", file=sys.stderr)
    return EXIT_OK if outcome.artifact["status"] == "READY" else EXIT_INVALID


if __name__ == "__main__":
    raise SystemExit(main())
