"""Run the simulated host in this process and SIGKILL it at a chosen point (crash-injection tests).

Usage: python3 tests/crash_runner.py PROJECT MODE N
  MODE before-replace: die just before the N-th atomic os.replace (a temp file is written, not renamed)
  MODE after-replace:  die just after the N-th os.replace (the file is in place, nothing after it ran)
  MODE after-step:     die right after the N-th step printed its output (before the host acts)
  MODE after-act:      die right after the host carried out the N-th action (before the next step)
Exits 0 when the campaign stopped before the crash point was reached.
"""
import os
import signal
import sys

import support  # noqa: F401
import sim_host

from metaopt_lib.contract import atomic_io


def _die():
    os.kill(os.getpid(), signal.SIGKILL)


def main(root, mode, limit):
    calls = {"replace": 0, "step": 0, "act": 0}
    real_replace = atomic_io.os.replace

    def replace(src, dst):
        calls["replace"] += 1
        if mode == "before-replace" and calls["replace"] == limit:
            _die()
        real_replace(src, dst)
        if mode == "after-replace" and calls["replace"] == limit:
            _die()

    atomic_io.os.replace = replace
    host = sim_host.Host(root)
    real_step = host.step

    def step(command="step"):
        result = real_step(command)
        calls["step"] += 1
        if mode == "after-step" and calls["step"] == limit:
            _die()
        return result

    real_act = host.act

    def act(action):
        real_act(action)
        calls["act"] += 1
        if mode == "after-act" and calls["act"] == limit:
            _die()

    host.step = step
    host.act = act
    host.run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
