"""One worker job: a task the step asked for, with everything a dispatcher needs, taken from
agents/workers.yaml and the worker's profile (the only sources of what a worker gets)."""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..contract import validation
from ..contract.atomic_io import write_json_atomic, write_text_atomic
from ..contract.campaign_secrets import project_redactor
from ..contract.conventions import one_line
from ..contract.paths import METAOPT_DIR_NAME, SKILL_ROOT

REGISTRY_FILE = SKILL_ROOT / "agents" / "workers.yaml"
LOG_AREA = "logs/workers"


@dataclass(frozen=True)
class WorkerJob:
    worker: str
    lane: str
    model_class: str
    profile_path: Path     # the worker's profile (.github/agents/<worker>.agent.md)
    result_schema: Path
    task_path: Path        # absolute
    result_path: Path      # absolute
    result_rel: str        # project-relative, as the task names it
    project_root: Path
    timeout_seconds: float

    @property
    def task_id(self) -> str:
        return self.task_path.stem

    @property
    def log_path(self) -> Path:
        return self.project_root / METAOPT_DIR_NAME / LOG_AREA / f"{self.task_id}.log"

    def task(self) -> dict:
        """The task document, checked against its contract (a dispatcher reads only valid tasks)."""
        return validation.load_valid("worker-task", self.task_path, within=self.project_root)

    def write_result(self, document: dict) -> None:
        write_json_atomic(self.result_path, self._redactor.document(document))

    def write_raw_result(self, text: str) -> None:
        """What a worker answered (secrets hidden): the next step's gate says what is wrong with it."""
        write_text_atomic(self.result_path, self._redactor.text(text))

    @functools.cached_property
    def _redactor(self):
        """The campaign's redaction, read once per job (its file and this process's environment)."""
        return project_redactor(self.project_root, os.environ)

    def write_failure(self, reason: str) -> None:
        """A `failed` result saying why this attempt gave none; the gate retries it with the reason."""
        document = {"schema_version": 1, "task_id": self.task_id, "worker": self.worker, "status": "failed",
                    "failure_reason": one_line(self._redactor.text(reason))}  # hidden before it is cut
        if self.lane == "ideation":
            document["proposals"] = []
        self.write_result(document)


def settle_cli_run(job: WorkerJob, cli: str, run, failure) -> str:
    """What a worker CLI's run leaves behind, and a short note: a failed result when it was stopped at
    its time limit or wrote no result file (with `failure`, why the CLI says it failed, if it did)."""
    if run.timed_out:
        job.write_failure(f"{cli} did not finish within {job.timeout_seconds:.0f} s and was stopped")
        return "timed out"
    if not job.result_path.exists():
        job.write_failure(failure or f"{cli} ended without writing the result file")
        return "failed"
    return "answered" if failure is None else f"wrote a result, then reported: {failure}"


@lru_cache(maxsize=1)
def registry() -> dict:
    return validation.load_valid("worker-registry", REGISTRY_FILE)


def model_for(job: WorkerJob, cli: str) -> str:
    return registry()["models"][job.model_class][cli]


def jobs_for(action: dict, project_root, timeout_seconds: float) -> list:
    """The jobs of a dispatch_workers action."""
    root = Path(project_root).resolve()
    workers = registry()["workers"]
    jobs = []
    for item in action["workers"]:
        entry = workers[item["worker"]]
        jobs.append(WorkerJob(worker=item["worker"], lane=entry["lane"], model_class=entry["model_class"],
                              profile_path=SKILL_ROOT / entry["profile"],
                              result_schema=SKILL_ROOT / entry["result_schema"],
                              task_path=root / item["task_path"], result_path=root / item["result_path"],
                              result_rel=item["result_path"], project_root=root, timeout_seconds=timeout_seconds))
    return jobs


def profile_body(job: WorkerJob) -> str:
    """The profile's instructions without its YAML front matter."""
    text = job.profile_path.read_text(encoding="utf-8")
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end >= 0:
            text = text[end + 5:]
    return text.strip() + "\n"


def task_json(task: dict) -> str:
    return json.dumps(task, indent=1, ensure_ascii=False)
