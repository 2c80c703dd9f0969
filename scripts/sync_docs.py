#!/usr/bin/env python3
"""Regenerate the generated blocks in references/*.md, SKILL.md and README.md, the strict schemas, and
the frontmatter of the worker profiles in .github/agents/.

Usage:
  python3 scripts/sync_docs.py           rewrite every stale block
  python3 scripts/sync_docs.py --check   change nothing; fail when a block is stale

A block is the text between `<!-- BEGIN GENERATED: NAME -->` and `<!-- END GENERATED -->`;
its content comes from the schemas and the machine module, never from a hand edit. A worker
profile's frontmatter comes from agents/workers.yaml (its body is written by hand).
Prints one JSON report: {"mode", "stale", "problems", "missing_blocks", "ok"}.

Exit codes: 0 in sync (or rewritten), 1 stale in --check mode or a broken/unknown/missing
block, 2 usage error.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract.conventions import EXIT_INVALID, EXIT_OK  # noqa: E402
from metaopt_lib.docs.docsync import sync  # noqa: E402

FIX_HINT = "run python3 scripts/sync_docs.py"


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="sync_docs.py", description="Regenerate the generated doc blocks. "
                                     "Exit 0 in sync, 1 stale (--check) or broken, 2 usage.")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 when a block is stale")
    opts = parser.parse_args(argv)
    report = sync(write=not opts.check)
    stale_fails = opts.check and report["stale"]
    ok = not (stale_fails or report["problems"] or report["missing_blocks"])
    out.write(json.dumps({"mode": "check" if opts.check else "write", **report, "ok": ok}, indent=2) + "\n")
    if stale_fails:
        print(f"generated blocks are stale in {', '.join(report['stale'])}: {FIX_HINT}", file=sys.stderr)
    for problem in report["problems"]:
        print(problem, file=sys.stderr)
    if report["missing_blocks"]:
        print("no document holds the generated blocks: " + ", ".join(report["missing_blocks"]), file=sys.stderr)
    return EXIT_OK if ok else EXIT_INVALID


if __name__ == "__main__":
    raise SystemExit(main())
