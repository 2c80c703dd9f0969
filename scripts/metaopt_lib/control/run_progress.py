"""What `metaopt.py run` tells a person on stderr: a line per state change, the sweep's progress
when it moves, each worker as it ends, and at the end how the campaign stopped and where the report is."""
from __future__ import annotations

import sys
import time

from . import actions


class Progress:
    def __init__(self, stream=None, clock=time.localtime):
        self.stream, self.clock = stream, clock
        self.last_state = None
        self.last_progress = None

    def _say(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(time.strftime("%H:%M:%S", self.clock()) + " " + text + "\n")
        stream.flush()

    def engine_step(self, state: dict, summary) -> None:
        """After every engine step (StepOptions.observer): a line per state change, and the sweep's
        progress whenever a poll moved it."""
        self._where(state["iteration"], state["machine_state"], summary)
        self._progress(actions.sweep_progress(state))

    def step(self, output: dict) -> None:
        self._where(output["iteration"], output["machine_state"], output["summary"])
        self._progress(output["action"].get("progress"))

    def _where(self, iteration, machine_state, summary) -> None:
        if (iteration, machine_state) != self.last_state:
            self.last_state = (iteration, machine_state)
            self._say(f"iteration {iteration} {machine_state}: {summary or ''}".rstrip(": "))

    def _progress(self, progress) -> None:
        moved = progress and (progress["trials_finished"], progress["trials_running"], progress["best_metric"])
        if progress and moved != self.last_progress:
            self.last_progress = moved
            self._say("  " + actions.progress_line(progress))

    def note(self, text: str) -> None:
        self._say(text)

    def dispatching(self, dispatcher: str, jobs) -> None:
        names = ", ".join(job.task_id for job in jobs)
        self._say(f"  {len(jobs)} worker task(s) to the {dispatcher} workers: {names}")

    def worker_done(self, job, note: str, failed: bool) -> None:
        self._say(f"  {job.task_id}: {note}" + (" (no result; the step retries it)" if failed else ""))

    def interrupted(self, project_root) -> None:
        self._say("Interrupted. Nothing is lost: run the same command again to continue (a running sweep keeps "
                  f"running and is picked up). Where it stands: python3 {actions.METAOPT_SCRIPT} status "
                  f"--project-root {project_root}")

    def finished(self, document: dict) -> None:
        stop = document["stop"]
        if document["report_path"]:
            self._say(f"Report: {document['report_path']}")
        for line in stop["user_can"]:
            self._say("  " + line)
