"""The environment and parameter files of one run of the user's program, the way `wandb agent`
hands a run its parameters: shared by the local backend's trials and the smoke test, so the smoke
test runs the program exactly as a trial will.

The interpreter that runs the executor (and so the trials: `${interpreter}`) comes first on PATH, so
a command that says `python` or `python3` gets the interpreter that has wandb installed. W&B stays
offline, and the metric capture (capture/sitecustomize.py) is first on PYTHONPATH.

W&B keeps an offline run directory under the run's WANDB_DIR. Two of its own copies would hold what the
program was given or printed, secrets included, where the redaction cannot reach (the .wandb file is
binary): its console capture and its metadata (the program's argv). Both are off; the program's
output reaches output.log through the redaction instead, and nothing of the local backend reads them.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

CAPTURE_DIR = Path(__file__).resolve().parent / "capture"


def run_environment(base_env, run_dir: Path, sweep_id: str, run_id: str, extra=None) -> dict:
    env = dict(base_env)
    python_path = [str(CAPTURE_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    interpreter_dir = str(Path(sys.executable).parent)
    path = [interpreter_dir] + [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != interpreter_dir]
    env.update({
        "PATH": os.pathsep.join(path),
        "WANDB_MODE": "offline",  # nothing is uploaded or billed
        "WANDB_SWEEP_PARAM_PATH": str(run_dir / "params.yaml"),
        "WANDB_SWEEP_ID": sweep_id,
        "WANDB_RUN_ID": run_id,
        "WANDB_DIR": str(run_dir),
        "WANDB_CONSOLE": "off",
        "WANDB__DISABLE_META": "true",  # wandb's setting x_disable_meta: no wandb-metadata.json, no argv
        "PYTHONPATH": os.pathsep.join(python_path),
        "PYTHONUNBUFFERED": "1",
        "METAOPT_METRICS_FILE": str(run_dir / "metrics.jsonl"),
    })
    env.update(extra or {})
    return env


def write_param_files(run_dir: Path, params: dict) -> None:
    """The parameter file wandb.init() reads (same layout as wandb agent writes) and ${args_json_file}."""
    run_dir.mkdir(parents=True, exist_ok=True)
    body = yaml.safe_dump({k: {"value": v} for k, v in params.items()}, default_flow_style=False,
                          sort_keys=False, allow_unicode=True)
    (run_dir / "params.yaml").write_text("wandb_version: 1\n\n" + body, encoding="utf-8")
    (run_dir / "args.json").write_text(json.dumps(params), encoding="utf-8")
