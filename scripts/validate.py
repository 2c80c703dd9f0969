#!/usr/bin/env python3
"""Validate one ml-metaoptimization document against its contract.

Usage:
  python3 scripts/validate.py [KIND] FILE [--campaign CAMPAIGN] [--task TASK] [--state STATE]

KIND is inferred from the file name (ml_metaopt_campaign*.yaml, state.json,
preflight-readiness.json, workers.yaml, *.<kind>.json, fixtures/<kind>/...) when omitted.
--campaign adds the objective checks (metric name and goal) to sweep configs and worker results;
--task checks a worker result against the task it answers; --state checks an envelope against
the current state.

Prints one JSON report on stdout: {"file", "kind", "valid", "errors": [{path, rule, message,
expected, fix}], "warnings": [...]}, errors sorted by JSON path. A warning does not make a document
invalid: a campaign field that holds a secret (rule secret-in-campaign; the message names the JSON path
and how to pass it through the environment, never the value), a metric name W&B's UI cannot sort by,
a distribution W&B only warns about (log_uniform and its kin), an unusually spelled W&B entity.

Exit codes: 0 valid, 1 invalid (or a context file is invalid), 2 usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract import validation  # noqa: E402
from metaopt_lib.contract.advisories import document_warnings  # noqa: E402
from metaopt_lib.contract.campaign_secrets import redactor_for  # noqa: E402
from metaopt_lib.contract.conventions import EXIT_INVALID, EXIT_OK, EXIT_USAGE  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"validate.py: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="validate.py", description="Validate a document against its contract; "
                     "prints one JSON report. Exit 0 valid, 1 invalid, 2 usage.")
    parser.add_argument("target", metavar="KIND_OR_FILE",
                        help="the kind (" + ", ".join(validation.KINDS) + "), or the file when the kind can be inferred")
    parser.add_argument("file", nargs="?", metavar="FILE", help="the file, when KIND is given")
    parser.add_argument("--campaign", help="campaign file supplying the objective")
    parser.add_argument("--task", help="worker task file the result answers")
    parser.add_argument("--state", help="state.json an envelope was computed against")
    return parser


def _context(opts, out):
    """Build the validation context from the optional context files; report them if invalid."""
    objective, task, state = None, None, None
    for kind, path in (("campaign", opts.campaign), ("worker-task", opts.task), ("state", opts.state)):
        if not path:
            continue
        document, issues = validation.load_and_validate(kind, path)
        if issues:
            _report(out, path, kind, issues)
            return None
        if kind == "campaign":
            objective = document["objective"]
        elif kind == "worker-task":
            task = document
        else:
            state = document
    ctx = validation.context_from_task(task) if task else validation.Context()
    return validation.Context(objective=ctx.objective or objective, task_id=ctx.task_id,
                              proposal_ids=ctx.proposal_ids, state=state)


def _report(out, path, kind, issues, warnings=(), redactor=None):
    """Print the report; a message that quotes a secret of the file shows it [REDACTED]."""
    redactor = redactor or redactor_for(None, os.environ)
    report = redactor.document({"file": str(path), "kind": kind, "valid": not issues,
                                "errors": [i.as_dict() for i in issues], "warnings": [w.as_dict() for w in warnings]})
    out.write(json.dumps(report, indent=2) + "\n")
    for issue in report["errors"]:
        print(issue["message"], file=sys.stderr)
    for warning in report["warnings"]:
        print(f"warning: {warning['message']}", file=sys.stderr)


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    opts = build_parser().parse_args(argv)
    if opts.file is not None:
        kind, path = opts.target, opts.file
        if kind not in validation.KINDS:
            build_parser().error(f"unknown kind '{kind}'; choose from {', '.join(validation.KINDS)}")
    else:
        path = opts.target
        kind = validation.infer_kind(path)
        if kind is None:
            build_parser().error(f"cannot infer the kind of {path}; pass it first: "
                                 f"{', '.join(validation.KINDS)}")
    context = _context(opts, out)
    if context is None:
        return EXIT_INVALID
    document, issues = validation.load_and_validate(kind, path, context=context)
    campaign = document if kind == "campaign" and isinstance(document, dict) else None
    warnings = document_warnings(kind, document, str(path))
    _report(out, path, kind, issues, warnings, redactor_for(campaign, os.environ))
    return EXIT_OK if not issues else EXIT_INVALID


if __name__ == "__main__":
    raise SystemExit(main())
