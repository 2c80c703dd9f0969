#!/usr/bin/env python3
"""Install the ml-metaoptimization skill where a host discovers it, with the host's worker agent files.

Usage:
  python3 scripts/install.py --host codex|claude|copilot --project P [--dry-run] [--uninstall]
  python3 scripts/install.py --host codex|claude|copilot --scope user [--dry-run] [--uninstall]

--scope project (the default) installs into the project P; --scope user into your home directory
($HOME), for every project. Where each host looks:

  codex    the skill in .agents/skills/ml-metaoptimization/ (user: ~/.agents/skills/...); no agent files
  claude   the skill in .claude/skills/ml-metaoptimization/, subagents .claude/agents/metaopt-*-worker.md
           (user: ~/.claude/skills/..., ~/.claude/agents/...)
  copilot  the skill in .github/skills/ml-metaoptimization/, custom agents
           .github/agents/metaopt-*-worker.agent.md (user: ~/.copilot/skills/..., ~/.copilot/agents/...)

The skill is copied (not linked); the agent files are generated from agents/workers.yaml and the
worker profiles in .github/agents/. What was written is recorded in install-manifest.json inside the
installed skill. Running it again writes only what changed. --uninstall removes exactly the files
it wrote that are still as written (and the byte-code Python wrote for them); a file you added, or edited after the install, stays (and is
reported). A file in the way that install.py did not write stops the install before anything is
written. --dry-run writes nothing and lists what it would do.

Prints one JSON report (references/schemas/install-output.schema.json); problems also on stderr.
Exit codes: 0 done (or nothing to do), 1 stopped by a problem (nothing written; the report names it
and the fix), 2 usage error.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from metaopt_lib.contract.conventions import EXIT_INVALID, EXIT_OK, EXIT_USAGE  # noqa: E402
from metaopt_lib.contract.issues import ContractError  # noqa: E402
from metaopt_lib.hosts import install as lib  # noqa: E402
from metaopt_lib.hosts.install_report import failure_report, report  # noqa: E402
from metaopt_lib.hosts.target import InstallProblem, target_for  # noqa: E402
from metaopt_lib.hosts.layout import HOSTS, SCOPES  # noqa: E402
from metaopt_lib.hosts.skill_files import SourceProblem  # noqa: E402


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"install.py: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="install.py", description="Install the skill where a host discovers it, with the "
                     "host's worker agent files. Exit 0 done, 1 stopped by a problem (nothing written), 2 usage.")
    parser.add_argument("--host", required=True, choices=sorted(HOSTS), help="the host agent to install for")
    parser.add_argument("--project", metavar="P", help="the project to install into (scope project)")
    parser.add_argument("--scope", choices=SCOPES, default="project",
                        help="project (default): into P; user: into your home directory, for every project")
    parser.add_argument("--dry-run", action="store_true", help="write nothing; list what would be done")
    parser.add_argument("--uninstall", action="store_true", help="remove what install.py wrote here")
    return parser


def main(argv=None, out=None, home=None) -> int:
    """`home` stands in for $HOME (tests); scope user installs under it."""
    out = out or sys.stdout
    parser = build_parser()
    opts = parser.parse_args(argv)
    if opts.scope == "project" and not opts.project:
        parser.error("--project P is required (or install for every project with --scope user)")
    if opts.scope == "user" and opts.project:
        parser.error("--scope user installs under your home directory; leave out --project")
    mode = "uninstall" if opts.uninstall else "install"
    base = opts.project if opts.scope == "project" else (home or os.path.expanduser("~"))

    def failed(problem, next_line=None):
        return failure_report(opts.host, opts.scope, base, mode, opts.dry_run, problem, next_line)

    plan = None
    try:
        target = target_for(opts.host, opts.scope, opts.project, home)
        plan = lib.plan_uninstall(target) if opts.uninstall else lib.plan_install(target)
        if not opts.dry_run:
            lib.apply(plan)
        document = report(plan, opts.dry_run)
    except InstallProblem as problem:
        document = failed(problem.problem)
    except (SourceProblem, ContractError) as error:  # the skill being installed is itself broken
        document = failed({"path": None, "message": " ".join(str(error).split())[:300],
                           "fix": "Install from a complete copy of the skill (its checkout or release)."})
    except OSError as error:
        where = error.filename if isinstance(error.filename, str) else None
        document = failed({"path": where, "message": " ".join(str(error).split())[:300],
                           "fix": "Check the directory's permissions and free space."},
                          None if plan is None or opts.dry_run else
                          "Stopped part way: fix the problem and run the same command again (it takes over the "
                          "files already written).")
    out.write(json.dumps(document, indent=2) + "\n")
    for problem in document["problems"]:
        print(f"install.py: {problem['message']} Fix: {problem['fix']}", file=sys.stderr)
    return EXIT_OK if document["ok"] else EXIT_INVALID


if __name__ == "__main__":
    raise SystemExit(main())
