#!/usr/bin/env python3
"""Check the quickstart run .ci/run just made (examples/quickstart/run.sh WORKDIR --json): the campaign
completed its three iterations, wrote its report where it said, showed the sweep's progress, its best
configuration beats the training program's own default configuration, and no file of the repository
changed. (This was tests/test_quickstart.py, which ran the whole quickstart a second time inside the
test suite; CI runs the quickstart once, here.)

Usage: python3 .ci/check_quickstart.py WORKDIR --run-output FILE --run-log FILE --before FILE
  WORKDIR       the directory run.sh was given (its project/ and the venv/ run.sh made)
  --run-output  what run.sh printed on stdout (the run's JSON document)
  --run-log     what run.sh printed on stderr (the run's progress)
  --before      `git status --porcelain` of the repository before the quickstart ran
  --python      the interpreter with the quickstart's packages (default WORKDIR/venv/bin/python3)

Prints one JSON document ({"ok": ..., "problems": [...], ...}); exit 0 when every check holds, 1 when
one fails, 2 on usage errors.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
METAOPT = REPO / "scripts" / "metaopt.py"
sys.path.insert(0, str(REPO / "scripts"))

import benchmark  # noqa: E402  (the quickstart's default configuration, measured as the benchmark does)


def repository_changes() -> str:
    """The repository's changed and new files (ignored ones aside); empty outside a git checkout."""
    done = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def default_metric(python: str) -> float:
    """val_accuracy of the program's DEFAULTS, run as a person would run it (wandb offline)."""
    with tempfile.TemporaryDirectory() as work:
        return benchmark.quickstart_default_metric(work, python)


def metaopt_json(python: str, command: str, project: Path) -> dict:
    done = subprocess.run([python, str(METAOPT), command, "--project-root", str(project), "--json"],
                          capture_output=True, text=True, timeout=600)
    return json.loads(done.stdout)


def check(workdir: Path, run_output: str, run_log: str, before: str, python: str) -> dict:
    problems = []
    project = workdir / "project"
    report = project / ".ml-metaopt" / "reports" / "final.md"
    try:
        document = json.loads(run_output)
    except ValueError:
        return {"ok": False, "problems": ["the run printed no JSON document on stdout"]}
    if document.get("machine_state") != "COMPLETE":
        problems.append(f"the campaign ended {document.get('machine_state')!r}, not COMPLETE")
    if document.get("report_path") != str(report) or not report.is_file():
        problems.append(f"the report is not at {report} (the run said {document.get('report_path')!r})")
    if f"Report: {report}" not in run_log:
        problems.append("the run's progress does not name the report")
    if "trials finished" not in run_log:
        problems.append("the run's progress does not show the sweep's progress (no 'trials finished')")
    status = metaopt_json(python, "status", project)
    if status.get("completed_iterations") != 3:
        problems.append(f"{status.get('completed_iterations')} iterations completed, not 3")
    best, default = status.get("baseline"), default_metric(python)
    if not (isinstance(best, (int, float)) and best > default):
        problems.append(f"the campaign's best val_accuracy {best} does not beat the program's default {default}")
    after = repository_changes()
    if after != before:
        problems.append(f"the quickstart changed files of the repository:\n{after}")
    return {"ok": not problems, "problems": problems, "best": best, "default": default,
            "iterations": status.get("completed_iterations")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="check_quickstart.py", description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--run-output", type=Path, required=True)
    parser.add_argument("--run-log", type=Path, required=True)
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--python")
    opts = parser.parse_args(argv)
    python = opts.python or str(opts.workdir / "venv" / "bin" / "python3")
    result = check(opts.workdir.resolve(), opts.run_output.read_text(), opts.run_log.read_text(),
                   opts.before.read_text(), python)
    print(json.dumps(result, indent=2))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
