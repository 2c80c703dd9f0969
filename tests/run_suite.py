#!/usr/bin/env python3
"""The test suite's command: every tests/test_*.py module (the modules `python3 -m unittest discover -s
tests -p 'test_*.py'` finds), run by a few worker processes at once, each worker a plain unittest run of
whole modules; then one summary as unittest prints it.

Usage: python3 tests/run_suite.py [--jobs N] [MODULE ...]
  --jobs N   worker processes (default: one more than the CPUs this process may use, 2 to 6);
             --jobs 1 runs every module in one process, as discover does
  MODULE     only these modules (test_smoke or tests/test_smoke.py); default all

Why: the suite is mostly CPU work in several processes at once (real trials, runners, the executor, the
simulated campaigns), with some waiting on processes, sleeps and I/O in between; one module per CPU and
one more keep every core busy. A worker takes the next module when it is done with one (the known long
ones first), so nothing is assigned by guesswork; the modules that share a per-process world (tests/bad_input.py's simulated campaign, the real campaign of
local_sweep_support.shared_real_campaign) run in the same worker, one after another, as they would under
discover. Each module runs exactly as unittest runs it (setUpModule, setUpClass, subTests, skips).

Every test and process it starts gets TMPDIR set to a directory of the run's own (on /dev/shm when
the machine has one with room), removed at the end.

Prints a line per module as it ends, then every failure and error with its traceback, then
"Ran N tests in S s" and "OK" or "FAILED (failures=F, errors=E, skipped=K)" as unittest does. Exit 0 when
every test passed, 1 otherwise (a worker that died or a module that did not load counts as an error),
2 on usage errors.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

TESTS = Path(__file__).resolve().parent
# Modules that share what they build once per process: each group runs in one worker, in this order.
GROUPS = (("test_bad_input", "test_bad_campaign", "test_bad_envelopes", "test_bad_executor_results",
           "test_bad_files", "test_bad_state", "test_bad_worker_results", "test_fuzz_inputs"),
          ("test_local_campaign", "test_report"))
# Started first, longest first, so no long module is left to run alone at the end (a hint for the order
# only: a module missing here just starts later).
LONG_FIRST = ("test_fuzz_inputs", "test_local_backend", "test_honesty_campaign", "test_simulation",
              "test_local_campaign", "test_run", "test_smoke", "test_crash_recovery", "test_honesty_crash",
              "test_secrets", "test_install", "test_run_local")
MODULE_TIMEOUT_SECONDS = 1800.0


def all_modules() -> list:
    return sorted(p.stem for p in TESTS.glob("test_*.py"))


def units(modules) -> list:
    """The modules as units of work (a group, or one module), the long ones first."""
    remaining, found = list(modules), []
    for group in GROUPS:
        members = [m for m in group if m in remaining]
        if members:
            found.append(tuple(members))
            remaining = [m for m in remaining if m not in members]
    found += [(m,) for m in remaining]
    rank = {name: index for index, name in enumerate(LONG_FIRST)}
    return sorted(found, key=lambda unit: (min(rank.get(m, len(rank)) for m in unit), unit))


# -- the worker -------------------------------------------------------------------------------------

def run_module(name) -> dict:
    """One module, as unittest runs it; its counts and its failures as unittest formats them."""
    started = time.monotonic()
    suite = unittest.defaultTestLoader.loadTestsFromName(name)
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=0).run(suite)
    problems = [("ERROR", result.getDescription(test), text) for test, text in result.errors]
    problems += [("FAIL", result.getDescription(test), text) for test, text in result.failures]
    problems += [("UNEXPECTED SUCCESS", result.getDescription(test), "") for test in result.unexpectedSuccesses]
    return {"module": name, "ran": result.testsRun, "failures": len(result.failures), "errors": len(result.errors),
            "skipped": len(result.skipped), "expected_failures": len(result.expectedFailures),
            "unexpected_successes": len(result.unexpectedSuccesses), "problems": problems,
            "seconds": round(time.monotonic() - started, 3)}


def worker() -> int:
    """Read module names on stdin, one a line; answer each with one JSON line on the original stdout.
    The tests see neither pipe (os.dup gives descriptors their children do not inherit): their stdin is
    /dev/null, and what they print on stdout goes to stderr, so nothing mixes with the protocol."""
    commands = os.fdopen(os.dup(0), "r")
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    sys.stdin, sys.stdout = open(os.devnull), sys.stderr
    sys.path.insert(0, str(TESTS))
    for line in commands:
        name = line.strip()
        if name:
            answers.write(json.dumps(run_module(name)) + "\n")
    return 0


# -- the parent -------------------------------------------------------------------------------------

class Worker:
    def __init__(self):
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                                        cwd=TESTS.parent)
        self.unit, self.module, self.started, self.buffer = (), None, 0.0, ""

    def give(self, unit):
        self.unit = unit
        self._next()

    def _next(self):
        self.module, self.unit = self.unit[0], self.unit[1:]
        self.started = time.monotonic()
        try:
            self.process.stdin.write(self.module + "\n")
            self.process.stdin.flush()
        except OSError:  # the worker died: its stdout ends, and the module is reported as an error there
            pass

    def done(self) -> bool:
        """The current module answered: start the unit's next one; True when the whole unit is done."""
        self.module = None
        if self.unit:
            self._next()
            return False
        return True

    def close(self):
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def died(module, why) -> dict:
    return {"module": module, "ran": 1, "failures": 0, "errors": 1, "skipped": 0, "expected_failures": 0,
            "unexpected_successes": 0, "problems": [("ERROR", module, why)], "seconds": 0.0}


def run_parallel(modules, jobs, out) -> list:
    queue = units(modules)
    selector = selectors.DefaultSelector()
    results = []

    def start():
        if not queue:
            return
        w = Worker()
        selector.register(w.process.stdout, selectors.EVENT_READ, w)
        w.give(queue.pop(0))

    def report(document):
        results.append(document)
        module_line(document, out)

    for _ in range(min(jobs, len(queue))):
        start()
    while selector.get_map():
        for key, _ in selector.select(timeout=5.0):
            w = key.data
            line = w.process.stdout.readline()
            if not line:  # the worker ended without answering: its module (and the rest of its unit) errs
                selector.unregister(w.process.stdout)
                w.close()
                report(died(w.module, f"the worker running {w.module} died (exit {w.process.returncode})"))
                for module in w.unit:
                    report(died(module, f"not run: the worker died in {w.module}"))
                start()
                continue
            report(json.loads(line))
            if w.done():
                if queue:
                    w.give(queue.pop(0))
                else:
                    selector.unregister(w.process.stdout)
                    w.close()
        for key in list(selector.get_map().values()):
            w = key.data
            if w.module and time.monotonic() - w.started > MODULE_TIMEOUT_SECONDS:
                selector.unregister(w.process.stdout)
                w.process.kill()
                w.close()
                report(died(w.module, f"{w.module} did not end within {MODULE_TIMEOUT_SECONDS:.0f} s"))
                for module in w.unit:
                    report(died(module, f"not run: the worker was stopped in {w.module}"))
                start()
    return results


def run_serial(modules, out) -> list:
    sys.path.insert(0, str(TESTS))
    results = []
    for name in modules:
        results.append(run_module(name))
        module_line(results[-1], out)
    return results


def module_line(document, out) -> None:
    bad = document["failures"] + document["errors"] + document["unexpected_successes"]
    print(f"{document['module']:<36} {document['seconds']:7.1f} s {document['ran']:5d} tests  "
          f"{'ok' if not bad else f'{bad} FAILED'}", file=out, flush=True)


def summary(results, seconds, out) -> bool:
    for document in sorted(results, key=lambda d: d["module"]):
        for kind, description, text in document["problems"]:
            print("=" * 70, file=out)
            print(f"{kind}: {description}", file=out)
            print("-" * 70, file=out)
            print(text, file=out)
    total = {key: sum(d[key] for d in results) for key in ("ran", "failures", "errors", "skipped",
                                                           "expected_failures", "unexpected_successes")}
    print("-" * 70, file=out)
    print(f"Ran {total['ran']} test{'s' if total['ran'] != 1 else ''} in {seconds:.3f}s", file=out)
    print(file=out)
    labels = (("failures", "failures"), ("errors", "errors"), ("skipped", "skipped"),
              ("expected_failures", "expected failures"), ("unexpected_successes", "unexpected successes"))
    details = ", ".join(f"{label}={total[key]}" for key, label in labels if total[key])
    ok = not (total["failures"] or total["errors"] or total["unexpected_successes"])
    print(("OK" if ok else "FAILED") + (f" ({details})" if details else ""), file=out)
    return ok


def default_jobs() -> int:
    """One worker more than the CPUs (a fifth of a worker's time is spent waiting on its processes),
    at least 2 and at most 6."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 2
    return max(2, min(6, cpus + 1))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--worker"]:
        return worker()
    parser = argparse.ArgumentParser(prog="run_suite.py", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("modules", nargs="*")
    opts = parser.parse_args(argv)
    if opts.jobs < 1:
        parser.error("--jobs must be at least 1")
    known = all_modules()
    modules = [Path(m).stem for m in opts.modules] or known
    unknown = [m for m in modules if m not in known]
    if unknown:
        parser.error(f"no such test module: {', '.join(unknown)}")
    out = sys.stdout
    started = time.monotonic()
    with scratch_tmpdir():
        results = run_serial(modules, out) if opts.jobs == 1 else run_parallel(modules, opts.jobs, out)
    return 0 if summary(results, time.monotonic() - started, out) else 1


RAM_DIR, RAM_DIR_MIN_FREE = "/dev/shm", 512 * 2**20


@contextlib.contextmanager
def scratch_tmpdir():
    """The suite's temporary files (TMPDIR of every test and process it starts) in a directory of its
    own, removed at the end, so a run leaves nothing behind (wandb leaves temporary directories of its
    own). On a RAM-backed file system when the machine has one with room (the suite peaks near 40 MiB):
    the tests create, fsync and rename thousands of small files, which cost a tenth of the suite's CPU
    on a disk; no test depends on data reaching a disk (kills are of processes, not of the machine)."""
    base = None
    try:
        info = os.statvfs(RAM_DIR)
        if os.access(RAM_DIR, os.W_OK) and info.f_bavail * info.f_frsize >= RAM_DIR_MIN_FREE:
            base = RAM_DIR
    except OSError:
        pass
    scratch = tempfile.mkdtemp(prefix="metaopt-suite-", dir=base)
    previous = os.environ.get("TMPDIR")
    os.environ["TMPDIR"], tempfile.tempdir = scratch, None
    try:
        yield scratch
    finally:
        if previous is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = previous
        tempfile.tempdir = None
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
