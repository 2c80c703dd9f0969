"""GitHub Copilot CLI workers: programmatic mode (`copilot -p`) with the worker's custom agent
(.github/agents/<worker>.agent.md, found through --add-dir of the skill), the project as the
working directory, reading allowed, writing allowed on the result file alone, shell and web denied,
no questions to a user, and JSONL output (--output-format json: text mode has printed nothing on
some versions). Flags checked: references/worker-clis.md."""
from __future__ import annotations

import json

from ..contract.paths import SKILL_ROOT
from .cli import find_executable, run_cli
from .jobs import WorkerJob, model_for, settle_cli_run
from .prompt import task_section

NAME = "copilot"
INSTALL = "install the GitHub Copilot CLI with `npm install -g @github/copilot`, then sign in by running `copilot` once"


def check_available() -> str:
    return find_executable("copilot", INSTALL)


def argv(job: WorkerJob, executable: str, prompt: str) -> list:
    return [executable, "-p", prompt, "--agent", job.worker, "--output-format", "json", "--no-ask-user",
            "--add-dir", str(SKILL_ROOT), "--allow-tool", "read", "--allow-tool", f"write({job.result_rel})",
            "--deny-tool", "shell", "--deny-tool", "url", "--model", model_for(job, "copilot")]


def dispatch(job: WorkerJob) -> str:
    executable = check_available()
    # The profile arrives with --agent; the prompt names the files (the profile says to read the task).
    prompt = task_section(job, job.task(), "file", inline=False)
    run = run_cli(argv(job, executable, prompt), job.project_root, "", job.timeout_seconds, job.log_path)
    return settle_cli_run(job, NAME, run, run_failure(run.stdout, run.exit_code))


def run_failure(stdout: str, exit_code) -> str | None:
    """A non-zero exit, or a final `result` event with a non-zero exitCode; None otherwise."""
    code = exit_code
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and event.get("type") == "result" and isinstance(event.get("exitCode"), int):
            code = event["exitCode"] if event["exitCode"] != 0 else code
    return None if code == 0 else f"copilot exited {code}"
