"""Campaign normalization, the two campaign hashes, and the readings of a campaign every layer
shares (its objective, the reservation a launch needs), defined once.

identity hash: campaign name, objective metric and direction, W&B entity and project. A change
means a different campaign (resume blocks with BLOCKED_CONFIG).
runtime hash: compute, and the project's repo, program, command and smoke-test command, after
defaults are applied. A change means preflight must run again; the campaign itself continues.
Both: canonical JSON (sorted keys, compact separators, UTF-8, integral floats written as
integers so 10 and 10.0 hash alike), SHA-256, written 'sha256:<hex>'.
"""
from __future__ import annotations

import copy
import hashlib
import json

from . import schemas


def canonical_json(value) -> str:
    return json.dumps(_integral_floats_as_ints(value), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)


def _integral_floats_as_ints(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    return value


def sha256_of(value) -> str:
    """The digest of a JSON value, by its canonical JSON."""
    return sha256_bytes(canonical_json(value))


def sha256_bytes(data) -> str:
    """The digest of a file's bytes (or of text, as UTF-8), written 'sha256:<hex>'."""
    return "sha256:" + hashlib.sha256(data if isinstance(data, bytes) else data.encode("utf-8")).hexdigest()


def apply_defaults(campaign: dict) -> dict:
    """A copy of a valid campaign with every schema default filled in."""
    out = copy.deepcopy(campaign)
    _fill(out, schemas.load_schema("campaign"))
    return out


def _fill(obj, schema):
    for key, sub in schema.get("properties", {}).items():
        if key not in obj and "default" in sub:
            obj[key] = copy.deepcopy(sub["default"])
        if isinstance(obj.get(key), dict) and sub.get("type") == "object":
            _fill(obj[key], sub)


def identity_fields(campaign: dict) -> dict:
    return {
        "campaign_name": campaign["campaign"]["name"],
        "objective_metric": campaign["objective"]["metric"],
        "objective_direction": campaign["objective"]["direction"],
        "wandb_entity": campaign["wandb"]["entity"],
        "wandb_project": campaign["wandb"]["project"],
    }


def runtime_fields(campaign: dict) -> dict:
    full = apply_defaults(campaign)
    project = full["project"]
    return {
        "compute": full["compute"],
        "project_repo": project["repo"],
        "project_program": project["program"],
        "project_command": project["command"],
        "smoke_test_command": project.get("smoke_test_command"),
    }


def identity_hash(campaign: dict) -> str:
    return sha256_of(identity_fields(campaign))


def runtime_config_hash(campaign: dict) -> str:
    return sha256_of(runtime_fields(campaign))


def objective_of(campaign) -> dict:
    objective = campaign["objective"]
    return {"metric": objective["metric"], "direction": objective["direction"],
            "improvement_threshold": objective["improvement_threshold"]}


def launch_reservation(campaign) -> float:
    """What the remaining budget must cover before a launch starts (stop conditions use it too)."""
    compute = campaign["compute"]
    if compute["backend"] == "local":
        local = compute["local"]
        return local["hourly_cost_usd"] * min(1, local["max_wall_clock_minutes"] / 60)
    # skypilot: the cost of the first hour of all agents at the highest hourly price accepted.
    return compute["skypilot"]["max_hourly_cost_usd"] * compute["num_sweep_agents"] * 1
