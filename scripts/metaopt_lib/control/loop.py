"""`metaopt.py step` and `resume`: the campaign's mechanical work done in one process, so the host acts
only on decisions.

One step chains engine steps while nothing needs the host: it runs the executor's directives itself
(smoke test, launch, poll, teardown: see executor_runs.py) and sleeps through waits, until workers
must be dispatched, the campaign stopped, or its wait bound (--max-wait) passed. Then it prints one
action. Everything it does is applied and journaled as it goes, so a step killed at any point (a
host's tool timeout) has lost nothing: the next step carries on from the state on disk.
"""
from __future__ import annotations

from collections import namedtuple

from ..contract.clock import parse_time
from . import actions, driver
from .clock import FrozenClock, SystemClock
from .resume import resume_stopped

# Fits the shortest common host tool-call limit (Claude Code's and Copilot's 120 s default) with room
# for start-up; SKILL.md tells each host how to allow a longer bound.
DEFAULT_MAX_WAIT_SECONDS = 100
MAX_WAIT_LIMIT_SECONDS = 3600
# A guard against a bug that would chain forever; a real iteration takes a few dozen engine steps.
MAX_ENGINE_STEPS = 1000


class StepOptions(namedtuple("StepOptions", "max_wait run_executor clock executor mark_dispatched observer",
                             defaults=(DEFAULT_MAX_WAIT_SECONDS, True, SystemClock(), None, True, None))):
    """max_wait: the step's wait bound; run_executor: False with --no-executor (the host runs the
    executor commands); clock; executor: None runs the executor script as a child (executor_runs.py);
    mark_dispatched: False for `metaopt.py run`, whose dispatchers write a result (a failed one when a
    worker gave none), so a run interrupted mid-dispatch hands the same tasks out again instead of
    counting them failed; observer: called with (state, summary) after every engine step (`run`
    reports state changes)."""

    __slots__ = ()

    @classmethod
    def frozen_at(cls, moment, **changes):
        """A replay at one moment: no sleeping and no executor runs (both go back to the caller)."""
        return cls(clock=FrozenClock(moment), run_executor=False, **changes)


def step(project_root, options: StepOptions | None = None) -> dict:
    """Advance the campaign as far as it goes without the host; returns the step output."""
    options = options or StepOptions()
    return driver.locked(project_root, lambda cdir: _chain(cdir, options, None))


def resume(project_root, options: StepOptions | None = None) -> dict:
    """Continue a stopped campaign once its cause is fixed (resume.py), then carry on as step does."""
    options = options or StepOptions()

    def body(cdir):
        _, summary = resume_stopped(cdir, options.clock.now())
        return _chain(cdir, options, summary)

    return driver.locked(project_root, body)


def _chain(cdir, options, summary):
    clock = options.clock
    deadline = clock.monotonic() + options.max_wait
    ran = set()  # executor directives this step carried out: none runs twice in one step
    for _ in range(MAX_ENGINE_STEPS):
        state, envelope = driver.engine_step(cdir, clock.now())
        if envelope is not None:
            summary = envelope["summary"]
        elif state["terminal"]:
            summary = summary or state["terminal"]["reason"]
        if options.observer is not None:
            options.observer(state, summary)
        move = actions.next_move(cdir, state, envelope)
        kind, left = move["kind"], deadline - clock.monotonic()
        if kind == "stop":
            return actions.step_output(state, summary, actions.stop_action(cdir, state))
        if kind == "dispatch_workers":
            if options.mark_dispatched:
                state = driver.mark_dispatched(cdir, state, move["records"], clock.now())
            return actions.step_output(state, summary, actions.dispatch_action(move["records"]))
        if kind == "run_executor":
            if not options.run_executor:
                return actions.step_output(state, summary, actions.executor_action(cdir, move["record"]))
            if move["record"]["id"] in ran:  # a cleanup teardown that failed: the next step tries again
                return actions.step_output(state, summary, actions.stop_action(cdir, state))
            ran.add(move["record"]["id"])
            from .executor_runs import SubprocessExecutor, journal_entry  # only a step that runs the executor

            run = (options.executor or SubprocessExecutor()).run(cdir, move["record"], left, clock)
            entry = journal_entry(cdir, state, move["record"], run, clock.now())
            cdir.append_journal(entry)
            summary = entry["summary"]
            if move["record"]["name"] == "poll_sweep":
                from .mechanical import refresh_trials_csv

                refresh_trials_csv(cdir, cdir.view(state))
            if not run.finished:
                return _step_again(state, summary)
        elif kind == "wait":
            if move["until"] is None:
                return _step_again(state, move["reason"])
            seconds = (parse_time(move["until"]) - parse_time(clock.now())).total_seconds()
            if clock.frozen:
                return actions.step_output(state, move["reason"], actions.step_action(state, move["until"]))
            if seconds > left:
                clock.sleep(max(0.0, left))
                return _step_again(state, move["reason"])
            clock.sleep(seconds)
    raise driver.StepError("envelope-refused", f"the step chained {MAX_ENGINE_STEPS} engine steps without "
                           "needing the host", "This is a bug in the skill; report it with the journal.")


def _step_again(state, summary):
    action = actions.step_action(state)
    if "progress" in action:
        summary = actions.progress_line(action["progress"]) + ". Step again."
    return actions.step_output(state, summary, action)
