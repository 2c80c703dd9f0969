"""What `scripts/benchmark.py control-plane` times: one `metaopt.py step` process at the start of
iteration 1 and of a synthesized iteration 1,000 (IDEATE, dispatching the ideation workers: the step
that reads the most of the campaign's history), and the floor it is compared with, a
bare process that reads the same state.json and campaign file (parsing both: json and PyYAML, as any
program that uses them must) and rewrites the state atomically. The
three are run interleaved, each on a fresh copy of its project, so a busy moment of the machine hits
all three alike; each run's peak memory is its own VmHWM, reported at its exit. Python runs as it
does by default, keeping compiled bytecode (PYTHONDONTWRITEBYTECODE is unset for the runs), and one
untimed run of each comes first, so no timing includes compiling the skill's modules."""
from __future__ import annotations

import copy
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import support
from metaopt_lib.contract import history
from metaopt_lib.contract.atomic_io import write_json_atomic
from metaopt_lib.control.state_store import CampaignDir

METAOPT = support.SCRIPTS / "metaopt.py"
# Runs a script and reports its peak resident memory (VmHWM, of this process image only: a child
# forked from a large parent would otherwise count the parent's pages) on stderr at exit.
PEAK = """
import atexit, runpy, sys
def report():
    with open("/proc/self/status") as handle:
        peak = next(line for line in handle if line.startswith("VmHWM:"))
    sys.stderr.write("PEAK_KB " + peak.split()[1] + "\\n")
atexit.register(report)
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
FLOOR = """
import json, os, sys, tempfile
import yaml
root = sys.argv[1]
with open(os.path.join(root, "ml_metaopt_campaign.yaml"), "rb") as handle:
    yaml.safe_load(handle)
path = os.path.join(root, ".ml-metaopt", "state.json")
with open(path, "rb") as handle:
    state = json.load(handle)
state["step_seq"] += 1
fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path))
with os.fdopen(fd, "w") as handle:
    json.dump(state, handle)
    handle.flush()
    os.fsync(handle.fileno())
os.replace(temporary, path)
"""


def ideate_project(source, target, iteration) -> Path:
    """A copy of the finished campaign at `source`, put at the start of `iteration` with iteration - 1
    completed iterations before it (five learnings and one spend entry each) in its history."""
    shutil.copytree(source, target)
    cdir = CampaignDir(target)
    state = cdir.read_state()
    past = cdir.history(state)
    name = state["campaign"]["name"]
    record, learning = past.records("iterations")[-1], past.records("learnings")[-1]
    entry = dict(past.records("ledger")[-1] if past.count("ledger") else state["spend_ledger"]["entries"][-1])
    records = {"iterations": [dict(copy.deepcopy(record), iteration=i, sweep_identity=f"{name}-iter-{i}")
                              for i in range(1, iteration)],
               "learnings": [dict(learning, iteration=i) for i in range(1, iteration) for _ in range(5)],
               "ledger": [dict(entry, sweep_identity=f"{name}-iter-{i}", iteration=i, usd=0.001)
                          for i in range(1, iteration)]}
    shutil.rmtree(target / ".ml-metaopt" / "history", ignore_errors=True)
    meta = history.empty_history_meta()
    for kind, items in records.items():
        meta[kind], data = history.extended(meta[kind], items)
        path = target / history.file_path(kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    closed = round(0.001 * (iteration - 1), 6)
    state.update(machine_state="IDEATE", phase="plan_ideation", status="RUNNING", terminal=None, block=None,
                 pending=[], iteration=iteration, history=meta, no_improve_streak=0, proposal_pool=[],
                 spend_ledger=dict(state["spend_ledger"], entries=[], closed_usd=closed, total_usd=closed))
    for key in ("analysis", "selected_sweep", "current_sweep", "noise_floor", "control", "sanity"):
        state.pop(key, None) if key in ("noise_floor", "control", "sanity") else state.update({key: None})
    write_json_atomic(cdir.state_path, state)
    cdir.read_state()  # as a step would read it: a broken synthesis fails here, not in a timing
    return target


def _run(argv, project, scratch) -> tuple:
    """(seconds, peak resident MiB) of one process on a fresh copy of `project`."""
    run_dir = scratch / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    shutil.copytree(project, run_dir)
    start = time.perf_counter()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-c", PEAK] + [arg if arg != "{root}" else str(run_dir) for arg in argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    seconds = time.perf_counter() - start
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_KB ")]
    if done.returncode != 0 or not peaks:
        raise RuntimeError(f"{argv[:2]} failed: {done.stderr[-2000:]}")
    return seconds, int(peaks[-1]) / 1024


def interleaved(projects, repeat, scratch, now) -> dict:
    """Median seconds and peak MiB of the floor and of a step on each project, run in rotation."""
    floor_script = scratch / "floor.py"
    floor_script.write_text(FLOOR)
    step = [str(METAOPT), "step", "--project-root", "{root}", "--json", "--now", now]
    floor = [str(floor_script), "{root}"]
    runs = {"floor": [], **{name: [] for name in projects}}
    first = next(iter(projects.values()))
    _run(floor, first, scratch)
    for project in projects.values():
        _run(step, project, scratch)  # compiles what the step imports, as a first run on a machine would
    for _ in range(repeat):
        runs["floor"].append(_run(floor, first, scratch))
        for name, project in projects.items():
            runs[name].append(_run(step, project, scratch))
    return {name: {"seconds": round(statistics.median(s for s, _ in values), 4),
                   "peak_mib": round(statistics.median(m for _, m in values), 1)} for name, values in runs.items()}
