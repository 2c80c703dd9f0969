"""`metaopt.py run`: the whole campaign in one command. It steps (the executor runs inside each step),
hands every worker task of a dispatch_workers action to a dispatcher (the built-in heuristic workers
or a worker CLI), and stops when the campaign does.

Worker results go through the step's gate like any host's: validated, retried with what was wrong.
A dispatcher always leaves a result file (a `failed` one when the worker gave none), so tasks are
not marked dispatched: a run interrupted mid-dispatch (Ctrl-C, SIGTERM, a kill) hands the same tasks
out again when the same command runs again, and a sweep it left running is polled, never relaunched.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..contract.bounds import max_bytes
from ..contract.campaign import apply_defaults
from ..contract.issues import ContractError
from ..contract.loaders import load_document
from ..contract.paths import CAMPAIGN_FILE, FINAL_REPORT_PATH, SKILL_ROOT
from ..dispatch import DEFAULT_MAX_PARALLEL, dispatcher as dispatcher_named
from ..dispatch.cli import LIVE, CliMissing
from ..dispatch.jobs import jobs_for
from . import driver, loop
from .executor_runs import open_log
from .run_progress import Progress

DEFAULT_WORKER_TIMEOUT_SECONDS = 1800
# Short steps keep the terminal's progress fresh; each step is cheap next to a trial.
RUN_STEP_SECONDS = 30.0
# Blocks the preflight itself clears: run makes it (once) and continues.
PREFLIGHT_BLOCKS = ("preflight-missing", "preflight-invalid", "preflight-stale", "preflight-expired")
PREFLIGHT_SCRIPT = SKILL_ROOT / "scripts/preflight.py"
PREFLIGHT_LOG = "logs/preflight.log"


@dataclass(frozen=True)
class RunOptions:
    workers: str = "heuristic"
    max_parallel: int = DEFAULT_MAX_PARALLEL
    worker_timeout: float | None = None       # None: the campaign's proposal_policy.worker_timeout_minutes
    resume: bool = False                      # first continue a stopped campaign, as metaopt.py resume does
    step: loop.StepOptions = field(default_factory=lambda: loop.StepOptions(max_wait=RUN_STEP_SECONDS))
    progress: Progress = field(default_factory=Progress)


@dataclass
class Tally:
    dispatched: int = 0
    failed: int = 0
    steps: int = 0


def run(project_root, options: RunOptions) -> dict:
    """Run the campaign to a stop; returns the run output (raises driver.StepError when it cannot start)."""
    started = time.monotonic()
    worker = _dispatcher(options.workers)
    timeout = _worker_timeout(project_root, options)
    step_options = options.step._replace(mark_dispatched=False, observer=options.progress.engine_step)
    tally, output, interrupted, preflight_made = Tally(), None, False, False
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        output = _first_step(project_root, options.resume, step_options)
        while True:
            tally.steps += 1
            action = output["action"]
            if action["kind"] == "stop" and not preflight_made and _block_code(project_root) in PREFLIGHT_BLOCKS:
                preflight_made = True
                options.progress.note(f"{output['summary']} Making it (scripts/preflight.py), then continuing.")
                _make_preflight(project_root)
                output = loop.resume(project_root, step_options)
                continue
            options.progress.step(output)
            if action["kind"] == "stop":
                break
            if action["kind"] == "dispatch_workers":
                _dispatch_all(worker, jobs_for(action, project_root, timeout), options, tally)
            output = loop.step(project_root, step_options)
    except KeyboardInterrupt:
        interrupted = True
        LIVE.stop_all()
        options.progress.interrupted(project_root)
    except (ContractError, OSError) as exc:  # a file between the steps (state, a task, a log) is unusable
        raise driver.unusable_file_error(exc) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
    if output is None:  # interrupted before the first step answered
        output = {"machine_state": "LOAD_CAMPAIGN", "iteration": 1, "summary": "interrupted before the first step"}
    report = driver.CampaignDir(project_root).root / FINAL_REPORT_PATH
    document = {"schema_version": 1, "machine_state": output["machine_state"], "iteration": output["iteration"],
                "summary": output["summary"], "interrupted": interrupted,
                "stop": None if interrupted else output["action"],
                "report_path": str(report) if report.exists() else None,
                "workers": {"dispatcher": options.workers, "dispatched": tally.dispatched, "failed": tally.failed},
                "steps": tally.steps, "seconds": round(time.monotonic() - started, 3)}
    if not interrupted:
        options.progress.finished(document)
    return document


def _first_step(project_root, resume, step_options) -> dict:
    """--resume continues a stopped campaign; one that is not stopped (or not started) steps on."""
    if resume and driver.CampaignDir(project_root).has_state():
        try:
            return loop.resume(project_root, step_options)
        except driver.StepError as exc:
            if exc.report["error"]["code"] != "not-blocked":
                raise
    return loop.step(project_root, step_options)


def _block_code(project_root):
    block = driver.CampaignDir(project_root).read_state(write_migration=False)["block"]
    return block["code"] if block else None


def _make_preflight(project_root) -> None:
    """Run the preflight as its own process (it writes .ml-metaopt/preflight-readiness.json); its
    verdict is read by the next step like any preflight's."""
    cdir = driver.CampaignDir(project_root)
    log = cdir.dir / PREFLIGHT_LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    with open_log(cdir, log, truncate=True) as out:
        subprocess.run([sys.executable, str(PREFLIGHT_SCRIPT), "--project-root", str(cdir.root)],
                       stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, check=False)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _dispatcher(name):
    module = dispatcher_named(name)
    try:
        module.check_available()
    except CliMissing as exc:
        raise driver.StepError("worker-cli-missing", str(exc), "Install it, or run with --workers heuristic "
                               "(built in, no account).") from None
    return module


def _worker_timeout(project_root, options) -> float:
    """--worker-timeout, or the campaign's worker_timeout_minutes; never longer than the latter, after
    which the step would discard a late result."""
    cdir = driver.CampaignDir(project_root)
    campaign, issues = cdir.load("campaign", cdir.root / CAMPAIGN_FILE)
    limit = None
    if campaign is not None and not issues:
        campaign = apply_defaults(campaign)
        limit = campaign["proposal_policy"]["worker_timeout_minutes"] * 60
        if options.workers == "heuristic" and not campaign.get("search_space"):
            raise driver.StepError("campaign-needs-search-space", "the heuristic workers start from the campaign's "
                                   "search_space, and ml_metaopt_campaign.yaml has none",
                                   "Add search_space (a W&B parameters block: the space you would sweep by hand) "
                                   "to ml_metaopt_campaign.yaml, or run with an LLM worker CLI (--workers codex, "
                                   "claude or copilot).")
    if options.worker_timeout is None:
        return limit or DEFAULT_WORKER_TIMEOUT_SECONDS
    if limit is not None and options.worker_timeout > limit:
        raise driver.StepError("worker-timeout-too-long", f"--worker-timeout {options.worker_timeout:g} s is longer "
                               f"than proposal_policy.worker_timeout_minutes ({limit // 60:g} min), after which "
                               "a result is discarded", "Lower --worker-timeout, or raise worker_timeout_minutes in "
                               "ml_metaopt_campaign.yaml.")
    return options.worker_timeout


def _dispatch_all(worker, jobs, options, tally) -> None:
    options.progress.dispatching(worker.NAME, jobs)
    tally.dispatched += len(jobs)
    pool = ThreadPoolExecutor(max_workers=max(1, min(options.max_parallel, len(jobs))))
    try:
        futures = [(job, pool.submit(_dispatch_one, worker, job)) for job in jobs]
        for job, future in futures:
            note = future.result()
            failed = _failed(job)
            tally.failed += failed
            options.progress.worker_done(job, note, failed)
    except BaseException:
        LIVE.stop_all()  # before the pool's threads are left behind: they wait on these CLIs
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def _dispatch_one(worker, job) -> str:
    """A short note on what happened. Whatever goes wrong, a result file is left."""
    try:
        job.result_path.parent.mkdir(parents=True, exist_ok=True)  # a worker's write tool may not create it
        return worker.dispatch(job)
    except Exception as exc:  # a dispatcher bug or an unusable task must not end the run without a result
        reason = f"the {worker.NAME} dispatcher failed: {type(exc).__name__}: {exc}"
        job.write_failure(reason)
        return reason


def _failed(job) -> bool:
    """Whether the attempt gave no result (the result file says status failed)."""
    document, _ = load_document(job.result_path, str(job.result_path), "json", max_bytes("ideation-result"))
    return isinstance(document, dict) and document.get("status") == "failed"
