"""The prompt every CLI dispatcher gives a worker, built from its profile and its task only."""
from __future__ import annotations

from .jobs import WorkerJob, profile_body, task_json

FILE_ANSWER = ("Write the result as one JSON document to the result file above, valid against {schema}, "
               "then end. Write no other file and change no code.")
MESSAGE_ANSWER = ("Answer with the result as your final message: one JSON object that satisfies the output "
                  "schema you were given. It is the result of {schema}, except that every `sweep_config` is a "
                  "string holding the W&B sweep config object serialized as JSON, and an optional field you "
                  "leave out is null. Write no file and change no code.")


def task_section(job: WorkerJob, task: dict, answer: str, inline: bool = True) -> str:
    """Where the task and the result are, how to answer, and (inline) the task itself."""
    schema = str(job.result_schema)
    lines = [f"You are {job.worker}. The training project is {job.project_root} (your working directory).",
             f"Task file: {job.task_path}", f"Result file: {job.result_path}",
             (FILE_ANSWER if answer == "file" else MESSAGE_ANSWER).format(schema=schema)]
    if inline:
        lines += ["", "The task file's content:", "```json", task_json(task), "```"]
    return "\n".join(lines) + "\n"


def full_prompt(job: WorkerJob, task: dict, answer: str) -> str:
    """The profile's instructions followed by the task section, for a CLI without agent profiles."""
    return profile_body(job) + "\n## This task\n\n" + task_section(job, task, answer)
