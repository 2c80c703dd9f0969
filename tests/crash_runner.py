"""Run the simulated host in this process and kill it at a chosen point (crash-injection tests).

Usage: python3 tests/crash_runner.py PROJECT MODE N [SIGNAL]
  MODE before-replace: die just before the N-th atomic os.replace (a temp file is written, not renamed)
  MODE after-replace:  die just after the N-th os.replace (the file is in place, nothing after it ran)
  MODE after-step:     die right after the N-th step printed its output (before the host acts)
  MODE after-act:      die right after the host carried out the N-th action (before the next step)
  MODE in-executor:    die right after the step started its N-th executor child (which runs on)
  MODE in-sleep:       die halfway through the N-th wait the step sleeps through
  MODE mid-append:     die having appended half of the N-th history append (a torn last line)
  MODE after-append:   die right after the N-th history append, before the state that commits it
  MODE none:           no kill from inside (the test kills this process from outside)
SIGNAL is KILL (default) or TERM. Exits 0 when the campaign stopped before the crash point was reached.
"""
import os
import signal
import sys

import support  # noqa: F401
import sim_host

from metaopt_lib.contract import atomic_io
from metaopt_lib.control import executor_runs, history_files


def main(root, mode, limit, signame="KILL"):
    calls = {"replace": 0, "step": 0, "act": 0, "executor": 0, "sleep": 0, "append": 0}

    def die():
        os.kill(os.getpid(), getattr(signal, f"SIG{signame}"))
        signal.pause()  # SIGTERM may be delivered a moment later; never carry on past the crash point

    real_replace = atomic_io.os.replace

    def replace(src, dst):
        calls["replace"] += 1
        if mode == "before-replace" and calls["replace"] == limit:
            die()
        real_replace(src, dst)
        if mode == "after-replace" and calls["replace"] == limit:
            die()

    atomic_io.os.replace = replace
    real_append = history_files.append_after

    def append_after(path, label, committed, data, within=None):
        calls["append"] += 1
        if mode == "mid-append" and calls["append"] == limit:
            real_append(path, label, committed, data[:max(1, len(data) // 2)], within)
            die()
        real_append(path, label, committed, data, within)
        if mode == "after-append" and calls["append"] == limit:
            die()

    history_files.append_after = append_after
    real_popen = executor_runs.subprocess.Popen

    class Popen(real_popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            calls["executor"] += 1
            if mode == "in-executor" and calls["executor"] == limit:
                die()

    executor_runs.subprocess.Popen = Popen
    real_sleep = sim_host.SimClock.sleep

    def sleep(clock, seconds):
        calls["sleep"] += 1
        if mode == "in-sleep" and calls["sleep"] == limit:
            real_sleep(clock, seconds / 2)
            die()
        real_sleep(clock, seconds)

    sim_host.SimClock.sleep = sleep
    host = sim_host.Host(root)
    real_step = host.step

    def step(command="step", *extra):
        result = real_step(command, *extra)
        calls["step"] += 1
        if mode == "after-step" and calls["step"] == limit:
            die()
        return result

    real_act = host.act

    def act(action):
        real_act(action)
        calls["act"] += 1
        if mode == "after-act" and calls["act"] == limit:
            die()

    host.step = step
    host.act = act
    host.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:5]))
