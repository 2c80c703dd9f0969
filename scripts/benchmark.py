#!/usr/bin/env python3
"""Benchmarks that print numbers (not timed tests).

Usage:
  python3 scripts/benchmark.py control-plane [--repeat N]
  python3 scripts/benchmark.py local-backend [--repeat N]
  python3 scripts/benchmark.py quickstart [--repeat N]
  python3 scripts/benchmark.py wandb-conformance [--corpus FILE]
  python3 scripts/benchmark.py fast-schema [--repeat N]

control-plane: median wall time and peak memory of one `metaopt.py step` process at the iteration
close of iteration 1 and of a synthesized iteration 1,000 (under --now: no executor runs, no
sleeping), against a bare process that reads the same state and campaign file and rewrites the
state, all three interleaved (tests/bench_steps.py), with the ratios and targets; for a five-iteration
campaign, the step invocations and host tool calls per iteration (steps, dispatch rounds, executor
commands; the host never sleeps) and the bytes the host reads (SKILL.md plus every step output),
for a host that follows SKILL.md and for one that passes --no-executor. The campaign is driven by
the simulated host of the test suite (scripted workers; the step runs a stand-in executor on a
simulated clock, with each sweep ending within the wait bound).

local-backend: the local executor backend with a real training script (wandb offline): the script's
own wall time when run directly, the median trial wall time inside a sweep and their difference (the
per-trial overhead of the runner), and throughput in trials per minute with 1 and 2 agents for a
random sweep of 2 x N trials, from launch to the runner's end. Needs optuna and wandb.

quickstart: the README's quickstart (examples/quickstart/run.sh, with this interpreter: packages
already installed) from start to COMPLETE: its wall time, the best validation accuracy it reached
per iteration, and the training program's default configuration run alone, for comparison. Needs
optuna, scikit-learn and wandb. --repeat defaults to 1 here (7 for the others).

wandb-conformance: how many sweep configs of W&B's own verdict corpus (default
fixtures/sweep-config/wandb-conformance.json) this skill judges as W&B does, real configs and
synthetic probes apart, and every case where we differ (with the reason when it is intentional).

fast-schema: the fast validator (contract/fast_schema.py) against jsonschema: import time of each in a
fresh process that already has json, re and pathlib (rfc3339_validator, which both import for
date-time, apart), compile time per kind (schema files read), and the time to validate
fixtures/state/valid/wait-for-sweep.json grown to iteration 1,000 (medians).

Prints one JSON document. Exit codes: 0 done, 1 a run failed, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SKILL_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(SKILL_ROOT / "scripts"))
sys.path.insert(0, str(SKILL_ROOT / "tests"))

import sim_host  # noqa: E402
import support  # noqa: E402



def _campaign(base, name, no_executor) -> dict:
    project = base / name
    project.mkdir()
    sim_host.write_project(project)
    host = sim_host.Host(project, no_executor=no_executor)
    host.run()
    outputs = [text for _, text in host.outputs]
    skill_bytes = (SKILL_ROOT / "SKILL.md").stat().st_size
    return {"steps_per_iteration": round(len(outputs) / 5, 1),
            "host_calls_per_iteration": round(host.tool_calls / 5, 1),
            "actions": dict(sorted(Counter(json.loads(text)["action"]["kind"] for text in outputs).items())),
            "host_reads_bytes": {"skill_md": skill_bytes, "per_step_mean": round(statistics.mean(map(len, outputs))),
                                 "per_step_max": max(map(len, outputs)),
                                 "five_iteration_total": skill_bytes + sum(map(len, outputs))}}


def control_plane(repeat) -> dict:
    import bench_steps

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        loop = _campaign(base, "five-iterations", no_executor=False)
        host_runs_executor = _campaign(base, "five-iterations-no-executor", no_executor=True)
        full = base / "five-iterations"
        projects = {"iteration_1": bench_steps.ideate_project(full, base / "iteration-1", 1),
                    "iteration_1000": bench_steps.ideate_project(full, base / "iteration-1000", 1000)}
        steps = bench_steps.interleaved(projects, repeat, base, "2026-11-23T00:00:00Z")
        floor = steps["floor"]["seconds"]
        return {
            "step_process": steps,
            "ratios": {"iteration_1_to_floor": round(steps["iteration_1"]["seconds"] / floor, 2),
                       "iteration_1000_to_floor": round(steps["iteration_1000"]["seconds"] / floor, 2),
                       "iteration_1000_to_iteration_1": round(steps["iteration_1000"]["seconds"]
                                                              / steps["iteration_1"]["seconds"], 2)},
            "targets": {"iteration_1_to_floor": 2.0, "iteration_1000_to_iteration_1": 1.5,
                        "iteration_1000_peak_mib": 30},
            "state_bytes": {name: (project / ".ml-metaopt" / "state.json").stat().st_size
                            for name, project in projects.items()},
            "five_iteration_campaign": loop,
            "five_iteration_campaign_no_executor": host_runs_executor,
        }


def local_backend(repeat) -> dict:
    import local_sweep_support as lss
    from metaopt_lib.executor.local.study import open_study
    from metaopt_lib.executor.local.sweep import read_spec
    from metaopt_lib.executor.local.search_space import plan_search

    params = {"x": {"min": -1.0, "max": 1.0}, "epochs": {"value": 3}, "epoch_seconds": {"value": 0.2}}
    direct = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=tmp, METAOPT_TEST_RESULTS=tmp,
                   WANDB_SWEEP_PARAM_PATH=str(Path(tmp) / "p.yaml"))
        (Path(tmp) / "p.yaml").write_text("epochs:\n  value: 3\nepoch_seconds:\n  value: 0.2\n")
        for _ in range(repeat):
            start = time.perf_counter()
            subprocess.run([sys.executable, str(lss.TRAINING / "train_quadratic.py")], env=env, check=True,
                           capture_output=True)
            direct.append(time.perf_counter() - start)
    report = {"script_direct_median_seconds": round(statistics.median(direct), 3), "agents": {}}
    for agents in (1, 2):
        project = lss.Project()
        try:
            begin = time.perf_counter()
            project.run(project.launch_directive(params, method="random", run_cap=2 * repeat, agents=agents))
            project.wait_finished(timeout=600)
            elapsed = time.perf_counter() - begin
            spec = read_spec(project.files)
            study = open_study(project.files, spec, plan_search(spec["sweep_config"]))
            walls = [(t.datetime_complete - t.datetime_start).total_seconds() for t in study.get_trials()
                     if t.state.name == "COMPLETE"]
        finally:
            project.close()
        report["agents"][str(agents)] = {
            "trials": len(walls), "trial_median_seconds": round(statistics.median(walls), 3),
            "per_trial_overhead_seconds": round(statistics.median(walls) - statistics.median(direct), 3),
            "sweep_seconds": round(elapsed, 3), "trials_per_minute": round(60 * len(walls) / elapsed, 2)}
    return report


def quickstart_default_metric(workdir, python=sys.executable) -> float:
    """val_accuracy of the quickstart program's DEFAULTS, run as a person would run it (wandb offline);
    .ci/check_quickstart.py compares the campaign's best with it too."""
    import re
    env = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=str(workdir), WANDB_SILENT="true")
    done = subprocess.run([python, str(SKILL_ROOT / "examples" / "quickstart" / "train.py")], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return float(re.search(r"^val_accuracy=([0-9.]+)$", done.stdout, re.M).group(1))


def quickstart(repeat) -> dict:
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            begin = time.perf_counter()
            done = subprocess.run(["bash", str(SKILL_ROOT / "examples" / "quickstart" / "run.sh"), str(work), "--json"],
                                  capture_output=True, text=True, env=dict(os.environ, QUICKSTART_PYTHON=sys.executable))
            seconds = time.perf_counter() - begin
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
            state = support.campaign_view(work / "project")
            runs.append({"wall_seconds": round(seconds, 1), "machine_state": json.loads(done.stdout)["machine_state"],
                         "best_per_iteration": [round(r["best_run"]["metric_value"], 4)
                                                for r in state["completed_iterations"]],
                         "campaign_best": round(state["baseline"]["metric_value"], 4),
                         "default_configuration": round(quickstart_default_metric(work), 4)})
    walls = [r["wall_seconds"] for r in runs]
    return {"runs": runs, "wall_seconds_median": statistics.median(walls), "target_wall_seconds": 180}


def _import_ms(module, repeat) -> float:
    """Median ms to import module in a fresh process that has already imported what every step imports."""
    code = (f"import sys, time, json, re, pathlib; sys.path.insert(0, {str(SKILL_ROOT / 'scripts')!r}); "
            f"start = time.perf_counter(); import {module}; print(time.perf_counter() - start)")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
            for _ in range(repeat)]
    return round(1000 * statistics.median(float(run.stdout) for run in runs), 1)


def _median_ms(action, repeat) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 2)


def fast_schema_suite(repeat) -> dict:
    from metaopt_lib.contract import fast_schema, schemas

    imports = {name: _import_ms(module, repeat) for name, module in (
        ("fast_schema", "metaopt_lib.contract.fast_schema"), ("jsonschema", "jsonschema"),
        ("rfc3339_validator", "rfc3339_validator"))}

    def compile_cold(kind):
        fast_schema._schema_file.cache_clear()  # a step reads the schema files once
        fast_schema.build_validator(kind)
    compile_ms = {kind: _median_ms(lambda: compile_cold(kind), repeat) for kind in schemas.schema_names()}
    state_file = SKILL_ROOT / "fixtures" / "state" / "valid" / "wait-for-sweep.json"
    state = _synthesize_history(json.loads(state_file.read_text()), 1000)
    fast, reference = fast_schema.compile_validator("state"), schemas.validator("state")
    if not fast(state) or list(reference.iter_errors(state)):
        raise RuntimeError("the synthesized state is not valid")
    return {"import_ms": imports, "compile_ms": compile_ms,
            "state_at_iteration_1000": {"bytes": len(json.dumps(state)), "validate_ms": {
                "fast_schema": _median_ms(lambda: fast(state), repeat),
                "jsonschema": _median_ms(lambda: list(reference.iter_errors(state)), repeat)}}}


def wandb_conformance(corpus) -> dict:
    from metaopt_lib.contract import wandb_conformance as conformance
    return {"corpus": str(corpus), **conformance.measure(corpus)}


def main(argv=None, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="benchmark.py", description="Print benchmark numbers as JSON. "
                                     "Exit 0 done, 1 a run failed, 2 usage.")
    parser.add_argument("suite", choices=["control-plane", "local-backend", "quickstart", "wandb-conformance",
                                          "fast-schema"])
    parser.add_argument("--repeat", type=int, help="runs per timing (median reported; default 7, quickstart 1)")
    parser.add_argument("--corpus", help="wandb-conformance: the verdict corpus to measure on")
    opts = parser.parse_args(argv)
    if opts.suite == "wandb-conformance":
        from metaopt_lib.contract.wandb_conformance import CORPUS_FILE
        out.write(json.dumps({"suite": opts.suite, **wandb_conformance(opts.corpus or CORPUS_FILE)}, indent=2) + "\n")
        return 0
    suites = {"control-plane": control_plane, "local-backend": local_backend, "quickstart": quickstart,
              "fast-schema": fast_schema_suite}
    repeat = opts.repeat if opts.repeat is not None else (1 if opts.suite == "quickstart" else 7)
    try:
        report = {"suite": opts.suite, **suites[opts.suite](max(1, repeat))}
    except RuntimeError as exc:
        print(f"benchmark run failed: {exc}", file=sys.stderr)
        return 1
    out.write(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
