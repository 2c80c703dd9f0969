"""The campaign's best result as files and a command: `.ml-metaopt/reports/best-config.yaml` (the
configuration as a W&B config file, `name: {value: v}`, the layout `wandb agent` hands a run) and the
shell command that runs the training program once more with it, the way a trial ran.

The command sets WANDB_SWEEP_PARAM_PATH to best-config.yaml, so a program that reads `wandb.config`
without defaults gets the values as in its trial, and expands the sweep's command template
(`project.command`) as `wandb agent` does, so a program that parses `--name=value` gets them too.
W&B stays offline: the re-run is for checking, not for the project's dashboard.
"""
from __future__ import annotations

import json
import shlex

from ..contract.paths import METAOPT_DIR_NAME
from ..contract.state_views import effective_baseline
from ..contract.trial_command import trial_argv
from .numbers import direction_words, readable

BEST_CONFIG = f"{METAOPT_DIR_NAME}/reports/best-config.yaml"
BEST_ARGS = f"{METAOPT_DIR_NAME}/reports/best-args.json"


def best_result(state) -> dict | None:
    """The adopted best (the baseline, when a sweep of this campaign found it), or None."""
    baseline = effective_baseline(state)
    if not baseline or baseline.get("metric_value") is None or not baseline.get("config"):
        return None
    return {"metric_value": baseline["metric_value"], "run_id": baseline.get("run_id"),
            "run_url": baseline.get("run_url"), "iteration": baseline.get("iteration"),
            "config": dict(sorted(baseline["config"].items()))}


def config_file_text(config: dict) -> str:
    import yaml

    body = yaml.safe_dump({name: {"value": value} for name, value in config.items()}, default_flow_style=False,
                          sort_keys=True, allow_unicode=True)
    return "wandb_version: 1\n\n" + body


def reproduce_command(project_root, campaign: dict, config: dict) -> str:
    """One shell line, run from anywhere: cd to the training repository, then the program with the
    configuration (the interpreter as `python3`; secrets of the command stay [REDACTED] in reports)."""
    project = campaign["project"]
    root = project_root.resolve()
    argv = trial_argv(project.get("command"), project["program"], config, {},
                      str(root / BEST_ARGS), interpreter="python3")
    env = ["WANDB_MODE=offline", f"WANDB_SWEEP_PARAM_PATH={shlex.quote(str(root / BEST_CONFIG))}"]
    return f"cd {shlex.quote(str(root / project.get('repo', '.')))} && {' '.join(env)} " + " ".join(
        shlex.quote(a) for a in argv)


def best_files(campaign: dict, best: dict) -> dict:
    """rel path -> text: best-config.yaml, and best-args.json when the command template reads
    ${args_json_file}."""
    files = {BEST_CONFIG: config_file_text(best["config"])}
    if any("${args_json_file}" in str(item) for item in campaign["project"].get("command") or ()):
        files[BEST_ARGS] = json.dumps(best["config"], sort_keys=True) + "\n"
    return files


def best_document(project_root, state, campaign) -> dict:
    """What `metaopt.py best` prints (references/schemas/best-output.schema.json); campaign: valid,
    with its defaults, or None when the file cannot be read now (no command then)."""
    best = best_result(state)
    objective = campaign["objective"] if campaign else None
    return {"schema_version": 1, "campaign": state["campaign"]["name"], "machine_state": state["machine_state"],
            "metric": objective["metric"] if objective else None,
            "direction": objective["direction"] if objective else None, "best": best,
            "best_config_path": BEST_CONFIG if best else None,
            "reproduce_command": reproduce_command(project_root, campaign, best["config"]) if best and campaign
            else None}


def best_text(document) -> str:
    if document["best"] is None:
        return f"{document['campaign']}: no sweep has produced a result yet ({document['machine_state']})."
    best, metric = document["best"], document["metric"] or "metric"
    words = f" ({direction_words(document['direction'])})" if document["direction"] else ""
    lines = [f"{document['campaign']}: best {metric}{words} = {readable(best['metric_value'])}, run "
             f"{best['run_id'] or '—'}, iteration {best['iteration'] if best['iteration'] is not None else '—'}"]
    lines += [f"  {name} = {readable(value)}" for name, value in best["config"].items()]
    if document["reproduce_command"]:
        lines += ["reproduce:", f"  {document['reproduce_command']}"]
    return "\n".join(lines)
