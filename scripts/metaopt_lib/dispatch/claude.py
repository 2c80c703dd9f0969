"""Claude Code workers: print mode (`claude -p`) with the profile appended to the system prompt,
the task on stdin, only the Read, Glob, Grep, Write and Edit tools, edits allowed on the result file
alone (permission mode dontAsk denies everything else), no MCP servers, and JSON output whose
is_error and subtype tell a failed run from a finished one. Flags checked: references/worker-clis.md."""
from __future__ import annotations

import json

from .cli import find_executable, run_cli
from .jobs import WorkerJob, model_for, settle_cli_run, profile_body
from .prompt import task_section

NAME = "claude"
INSTALL = "install Claude Code with `npm install -g @anthropic-ai/claude-code`, then sign in by running `claude` once"
MAX_TURNS = 40


def check_available() -> str:
    return find_executable("claude", INSTALL)


def argv(job: WorkerJob, executable: str) -> list:
    # "//" anchors a permission rule at the filesystem root; Edit rules also govern Write.
    return [executable, "-p", "--output-format", "json", "--permission-mode", "dontAsk",
            "--tools", "Read,Glob,Grep,Write,Edit", "--allowedTools", f"Read,Glob,Grep,Edit(/{job.result_path})",
            "--append-system-prompt", profile_body(job), "--model", model_for(job, "claude"),
            "--max-turns", str(MAX_TURNS), "--strict-mcp-config", "--no-session-persistence"]


def dispatch(job: WorkerJob) -> str:
    executable = check_available()
    run = run_cli(argv(job, executable), job.project_root, task_section(job, job.task(), "file"),
                  job.timeout_seconds, job.log_path)
    return settle_cli_run(job, NAME, run, run_failure(run.stdout, run.exit_code))


def run_failure(stdout: str, exit_code) -> str | None:
    """Why the run failed: an error result (is_error, or a subtype other than success), a non-zero
    exit, or output that is not the JSON result document; None for a successful run."""
    try:
        result = json.loads(stdout)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        return f"claude exited {exit_code} without a JSON result"
    if result.get("is_error") or result.get("subtype") != "success":
        detail = result.get("result") or "; ".join(str(e) for e in result.get("errors") or []) or "no detail"
        return f"claude run failed ({result.get('subtype')}): {detail}"
    if exit_code != 0:
        return f"claude exited {exit_code}"
    return None
