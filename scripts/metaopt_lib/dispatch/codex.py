"""Codex CLI workers: `codex exec` with the profile and the task as the prompt on stdin, a read-only
sandbox rooted at the project, the final message constrained by the strict schema of the lane
(references/schemas/strict/) and written by the CLI to a file, then converted back to the real
result and validated by the next step like any result.

The sandbox is read-only because the worker writes nothing: the CLI itself writes the final message
(-o), and this dispatcher turns it into the result file. The JSONL events (--json) tell a failed turn
(turn.failed, error) from a completed one. Flags checked: references/worker-clis.md."""
from __future__ import annotations

import json

from ..contract.bounds import max_bytes
from ..contract.regular_files import FileRefused, read_regular
from ..contract.strict_schemas import from_strict, strict_path
from .cli import find_executable, run_cli
from .jobs import WorkerJob, model_for, settle_cli_run
from .prompt import full_prompt

NAME = "codex"
INSTALL = "install it with `npm install -g @openai/codex`, then sign in with `codex login`"


def check_available() -> str:
    return find_executable("codex", INSTALL)


def argv(job: WorkerJob, executable: str, last_message) -> list:
    return [executable, "exec", "--json", "--sandbox", "read-only", "--skip-git-repo-check",
            "-C", str(job.project_root), "--output-schema", str(strict_path(job.lane)),
            "-o", str(last_message), "-m", model_for(job, "codex"), "-"]


def dispatch(job: WorkerJob) -> str:
    executable = check_available()
    last_message = job.log_path.with_name(job.task_id + ".last-message.json")
    last_message.parent.mkdir(parents=True, exist_ok=True)
    last_message.unlink(missing_ok=True)  # the CLI writes it only for a completed turn
    run = run_cli(argv(job, executable, last_message), job.project_root, full_prompt(job, job.task(), "message"),
                  job.timeout_seconds, job.log_path)
    if run.timed_out or not last_message.exists():
        failure = turn_failure(run.stdout) or f"codex exited {run.exit_code} without a final message: {_tail(run.stderr)}"
        return settle_cli_run(job, NAME, run, failure)
    try:
        text = read_regular(last_message, str(last_message), max_bytes("worker-message")).decode("utf-8", "replace")
    except FileRefused as exc:
        return settle_cli_run(job, NAME, run, f"codex's final message is unusable: {exc.issue.problem}")
    try:
        document = json.loads(text)
    except ValueError:
        job.write_raw_result(text)
        return "answered with text that is not JSON"
    job.write_result(from_strict(job.lane, document))
    return "answered"


def turn_failure(stdout: str) -> str | None:
    """Why the turn failed, from the JSONL events (turn.failed, error), or None."""
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        if event.get("type") == "turn.failed":
            error = event.get("error") if isinstance(event.get("error"), dict) else {}
            return f"codex turn failed: {error.get('message', 'no message')}"
        if event.get("type") == "error":
            return f"codex error: {event.get('message', 'no message')}"
    return None


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
