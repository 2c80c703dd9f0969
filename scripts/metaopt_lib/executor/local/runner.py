"""The detached local sweep runner: runs `num_agents` trials at a time until the run cap, the grid,
the metric target, the wall-clock cap, the budget or a stop request ends the sweep.

Started by launch_sweep (and restarted by poll_sweep when it died) as
`skypilot_wandb_worker.py local-runner --sweep-dir DIR`. All of its state is in the sweep directory:
the spec it was launched with, the Optuna study journal and status.json, so a restarted runner picks
up where the dead one stopped without repeating finished trials.
"""
from __future__ import annotations

import datetime
import functools
import math
import os
import signal
import time

# Only the runner process imports this module, and launch refused the sweep if optuna were missing.
import optuna
from optuna.trial import TrialState

from ...contract.campaign_secrets import SecretUnavailable, read_campaign, real_value, redactor_for
from ..outcome import parse_timestamp, timestamp
from ..records import write_record
from .processes import kill_pids, sweep_pids
from .search_space import plan_search
from .study import counted_trials, open_study, parameter_key, ran_parameter_sets, run_id
from .sweep import STATUS_SCHEMA, SweepFiles, hold_runner_lock, read_spec, read_status
from .trials import TrialProcess

TICK_SECONDS = 0.2
HEARTBEAT_SECONDS = 1.0
# Consecutive proposals of parameter sets the sweep already ran before its space counts as exhausted.
MAX_REPEATED_PROPOSALS = 50


class Runner:
    def __init__(self, files: SweepFiles, spec: dict, previous: dict | None, env=None):
        self.files, self.spec, self.env = files, spec, dict(os.environ if env is None else env)
        self.plan = plan_search(spec["sweep_config"], str(files.spec), ("sweep_config",))
        self.generation = (previous["generation"] + 1) if previous else 1
        self.launched = parse_timestamp(spec["launched_at"]).timestamp()
        self.running: dict = {}
        self.target_reached = False
        self.stop_reason = None
        self.message = "starting"
        self.last_status_write = 0.0
        self.signalled = False
        self.space_exhausted = False

    # The spec shows the command's secrets [REDACTED]; the trials run the campaign's real command. Read
    # when the first trial starts, not before the runner's first status write, which the launcher awaits.
    @functools.cached_property
    def campaign(self):
        return read_campaign(self.files.project_root)

    @functools.cached_property
    def redactor(self):
        return redactor_for(self.campaign, self.env)

    # -- study ------------------------------------------------------------------------------------
    def open(self):
        early = self.spec["sweep_config"].get("early_terminate")
        self.hyperband = bool(early)
        pruner = optuna.pruners.NopPruner()  # Optuna's default would be a MedianPruner
        if early:
            pruner = optuna.pruners.HyperbandPruner(min_resource=early.get("min_iter", 1),
                                                    max_resource=early.get("max_iter", "auto"),
                                                    reduction_factor=early.get("eta", 3))
        # A restarted runner samples on from a seed of its own: the first generation's seed again would
        # propose the same parameter sets the dead runner already ran.
        sampler = self.plan.make_sampler(self.spec["seed"] + self.generation - 1)
        self.study = open_study(self.files, self.spec, self.plan, sampler, pruner)
        self._recover_interrupted()
        if self.plan.method == "grid" and not self.study.get_trials(deepcopy=False):
            for point in self.plan.grid_points():
                self.study.enqueue_trial(point)

    def _recover_interrupted(self):
        """Trials left RUNNING by a dead runner: kill what survived; a trial whose program had ended
        its run (wandb's run.finish()) counts as finished with the last metric it logged, every other
        one as interrupted with the last metric it logged, and an interrupted grid point is queued again."""
        kill_pids(sweep_pids(self.files))
        for trial in self.study.get_trials(deepcopy=False):
            if trial.state.name != "RUNNING":
                continue
            logged = TrialProcess(trial.number, "", self.files.trial_dir(trial.number), self.plan.metric_name)
            logged.collect(time.time())
            values = [v for v in logged.metric_values if _finite(v)]
            # A finished trial's attributes are frozen, so they are written before it is told.
            storage = self.study._storage
            if values:
                storage.set_trial_user_attr(trial._trial_id, "last_metric", values[-1])
            if logged.run_finished and values:
                storage.set_trial_user_attr(trial._trial_id, "outcome", "finished")
                self.study.tell(trial.number, values[-1])
                continue
            storage.set_trial_user_attr(trial._trial_id, "outcome", "interrupted")
            self.study.tell(trial.number, state=TrialState.FAIL)
            if self.plan.method == "grid":
                self.study.enqueue_trial(trial.params)

    # -- one trial ----------------------------------------------------------------------------------
    def _start_trial(self, now: float):
        trial = self._ask_new()
        if trial is None:
            self.space_exhausted = True
            return
        params = self.plan.wandb_params(trial.params)
        rid = run_id(self.spec, trial.number)
        trial.set_user_attr("run_id", rid)
        trial.set_user_attr("config", params)
        process = TrialProcess(trial.number, rid, self.files.trial_dir(trial.number), self.plan.metric_name)
        try:
            command = real_value(self.spec["command"], self.campaign, ("project", "command"))
            process.start(self.files, self.spec, params, self.env, now, command, self.redactor)
        except (OSError, SecretUnavailable) as exc:
            trial.set_user_attr("outcome", "failed")
            trial.set_user_attr("error", self.redactor.text(str(exc))[:300])
            self.study.tell(trial, state=TrialState.FAIL)
            return
        self.running[trial.number] = (trial, process)

    def _ask_new(self):
        """A trial with a parameter set the sweep has not run; a repeat is told as not run (outcome
        duplicate). None once the sampler keeps proposing only sets that already ran. A grid runs an
        interrupted point again (every point once to the end); random and bayes sweeps never do. A
        noise floor's random sweep re-runs one configuration on purpose: every proposal is new to it."""
        if self.spec.get("purpose") == "noise_floor" and self.plan.method != "grid":
            return self.study.ask(self.plan.distributions())
        ran = ran_parameter_sets(self.study, with_interrupted=self.plan.method != "grid")
        for _ in range(MAX_REPEATED_PROPOSALS):
            trial = self.study.ask(self.plan.distributions())
            if parameter_key(trial.params) not in ran:
                return trial
            trial.set_user_attr("outcome", "duplicate")
            self.study.tell(trial, state=TrialState.FAIL)
        return None

    def _finish(self, number: int, outcome: str, value=None):
        trial, process = self.running.pop(number)
        trial.set_user_attr("outcome", outcome)
        if process.metric_values:
            trial.set_user_attr("last_metric", process.metric_values[-1])
        if outcome == "finished":
            self.study.tell(trial, value)
            self._check_target(value)
        else:
            self.study.tell(trial, state=TrialState.PRUNED if outcome == "pruned" else TrialState.FAIL)

    def _check_target(self, value):
        target = self.plan.target
        if target is not None:
            self.target_reached |= value >= target if self.plan.direction == "maximize" else value <= target

    def _watch(self, now: float):
        idle = self.spec["idle_timeout_seconds"]
        for number, (trial, process) in list(self.running.items()):
            for value in process.collect(now):
                if not self.hyperband or not _finite(value):
                    continue
                trial.report(value, len(process.metric_values))
                if trial.should_prune():
                    process.kill()
                    self._finish(number, "pruned")
                    break
            else:
                code = process.exit_code()
                if code is not None:
                    process.collect(now)
                    process.kill(0.5)  # whatever the program left behind in its group
                    values = [v for v in process.metric_values if _finite(v)]
                    if code != 0:
                        self._finish(number, "failed")
                    elif values:
                        self._finish(number, "finished", values[-1])
                    else:
                        self._finish(number, "no_metric")
                elif now - process.last_progress > idle:
                    process.kill()
                    self._finish(number, "killed")

    # -- the loop -------------------------------------------------------------------------------------
    def spend(self, now: float) -> float:
        return round(self.spec["hourly_cost_usd"] * max(0.0, now - self.launched) / 3600, 6)

    def _stop_cause(self, now: float):
        if self.signalled or self.files.stop_request.exists():
            return "canceled"
        if now - self.launched >= self.spec["wall_clock_seconds"]:
            return "wall_clock"
        if self.spec["hourly_cost_usd"] > 0 and self.spend(now) >= self.spec["budget_usd"]:
            return "budget"
        return None

    def _may_start(self) -> bool:
        if self.target_reached or self.space_exhausted:
            return False
        if counted_trials(self.study) >= self.spec["sweep_config"]["run_cap"]:
            return False
        if self.plan.method == "grid":
            return any(t.state.name == "WAITING" for t in self.study.get_trials(deepcopy=False))
        return True

    def run(self) -> str:
        self.open()
        while True:
            now = time.time()
            self._watch(now)
            cause = self._stop_cause(now)
            if cause:
                for number, (_, process) in list(self.running.items()):
                    process.kill()
                    self._finish(number, "stopped")
                return self._end(cause, now)
            while len(self.running) < self.spec["num_agents"] and self._may_start():
                self._start_trial(now)
            if not self.running and not self._may_start():
                return self._end("target" if self.target_reached else "run_cap", now)
            self.message = f"{len(self.running)} trial(s) running"
            self._write_status(now)
            time.sleep(TICK_SECONDS)

    def _end(self, reason: str, now: float) -> str:
        kill_pids(sweep_pids(self.files))  # leftovers of finished trials; the sweep is over
        self.stop_reason = reason
        self.message = f"stopped: {reason}"
        self._write_status(now, force=True)
        return reason

    def _write_status(self, now: float, force: bool = False):
        if not force and now - self.last_status_write < HEARTBEAT_SECONDS:
            return
        self.last_status_write = now
        moment = _utc(now)
        write_record(self.files.status, STATUS_SCHEMA, {
            "schema_version": 1, "sweep_identity": self.spec["sweep_identity"], "generation": self.generation,
            "runner_pid": os.getpid(), "state": "finished" if self.stop_reason else "running",
            "stop_reason": self.stop_reason, "updated_at": moment,
            "ended_at": moment if self.stop_reason else None, "spend_usd": self.spend(now),
            "message": self.message[:300]})


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _utc(epoch: float) -> str:
    return timestamp(datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc))


def run_runner(sweep_dir) -> int:
    """Entry point of the runner process. 0 when the sweep ended (or another runner owns it)."""
    files = SweepFiles(sweep_dir)
    lock = hold_runner_lock(files)
    if lock is None:
        return 0
    spec, previous = read_spec(files), read_status(files)
    if spec is None or (previous and previous["state"] == "finished"):
        return 0
    runner = Runner(files, spec, previous)
    signal.signal(signal.SIGTERM, lambda *_: setattr(runner, "signalled", True))
    runner._write_status(time.time(), force=True)  # the launcher waits for this: the runner is up
    runner.run()
    return 0
