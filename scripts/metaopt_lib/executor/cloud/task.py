"""The SkyPilot task each sweep agent runs on its own Vast.ai machine, and the names of those machines.

One cluster per agent: it syncs the training repository, runs the setup, then `wandb agent` for the
sweep, and autostops with `down: true` once idle so a forgotten machine stops billing by itself.
"""
from __future__ import annotations

import copy
import hashlib
import importlib.util
import math
import shlex
from dataclasses import dataclass

CLUSTER_NAME_PREFIX = "mo"
# Identity characters kept in a cluster name (for reading `sky status`); the hash keeps names unique.
IDENTITY_HEAD_LENGTH = 28
IDENTITY_HASH_LENGTH = 8
# An agent whose runs keep failing exits instead of burning money on a broken configuration.
MAX_CONSECUTIVE_FAILED_RUNS = 3
WANDB_SECRET = "WANDB_API_KEY"
# Appended to every setup so the agent can start even when the campaign's setup forgets wandb.
WANDB_INSTALL = "python3 -c 'import wandb' 2>/dev/null || python3 -m pip install --quiet 'wandb>=0.31'"


def cluster_prefix(identity: str) -> str:
    """Common start of every cluster name of one sweep identity (what listings filter on)."""
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:IDENTITY_HASH_LENGTH]
    head = identity[:IDENTITY_HEAD_LENGTH].rstrip("-")
    return f"{CLUSTER_NAME_PREFIX}-{head}-{digest}-"


def cluster_name(identity: str, attempt: int, agent_index: int) -> str:
    """Deterministic cluster name, e.g. mo-cifar10-resnet-iter-2-1a2b3c4d-s1-a3 (sweep attempt 1, agent 3).

    SkyPilot accepts [a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?; names stay under 60 characters so the Vast.ai
    instance label SkyPilot derives (name, user hash, '-head') keeps the whole name."""
    return f"{cluster_prefix(identity)}s{attempt}-a{agent_index}"


def label_belongs_to(label: str, name: str) -> bool:
    """Whether a Vast.ai instance label is the instance of cluster `name` (or of a name prefix ending in '-')."""
    return label == name or (name if name.endswith("-") else name + "-") in label


def agent_run_count(run_cap: int, num_agents: int) -> int:
    """Runs each agent may start: together the agents cover the run cap, and no agent runs forever."""
    return max(1, math.ceil(run_cap / num_agents))


def task_config(*, cluster: str, entity: str, project: str, sweep_id: str, skypilot: dict, workdir: str,
                idle_timeout_minutes: int, agent_count: int) -> dict:
    """The SkyPilot task (YAML-shaped dict) for one agent. The W&B key is a secret named here with no
    value; its value is supplied only at launch, in memory."""
    resources = {"infra": "vast", "accelerators": skypilot["accelerator"],
                 "max_hourly_cost": skypilot["max_hourly_cost_usd"], "disk_size": skypilot["disk_size_gb"],
                 "autostop": {"idle_minutes": idle_timeout_minutes, "down": True}}
    if skypilot.get("image_id"):
        resources["image_id"] = skypilot["image_id"]
    setup = f"{skypilot['setup'].rstrip()}\n{WANDB_INSTALL}" if skypilot.get("setup") else WANDB_INSTALL
    sweep_path = shlex.quote(f"{entity}/{project}/{sweep_id}")
    run = (f"wandb agent --count {agent_count} --max-consecutive-failed-runs {MAX_CONSECUTIVE_FAILED_RUNS} "
           f"{sweep_path}")
    return {"name": cluster, "resources": resources, "num_nodes": 1, "workdir": workdir, "setup": setup,
            "run": run,
            # wandb reads WANDB_TAGS (comma-separated) into the run's tags: the tag maps a run to its machine.
            "envs": {"WANDB_ENTITY": entity, "WANDB_PROJECT": project, "WANDB_TAGS": cluster},
            "secrets": {WANDB_SECRET: None}}


@dataclass(frozen=True)
class TaskValidation:
    """Whether SkyPilot accepts a task config: status is valid, invalid or skipped (SkyPilot not installed)."""

    status: str
    message: str


def validate_task_config(config: dict) -> TaskValidation:
    """Check a task config with SkyPilot's own parser (sky.Task.from_yaml_config), offline.

    It rejects schema errors, not unknown GPU names or prices. Without SkyPilot installed the check is
    reported as skipped, never as valid."""
    if importlib.util.find_spec("sky") is None:
        return TaskValidation("skipped", "SkyPilot is not installed; install skypilot[vast] to validate task configs")
    import sky

    try:
        # from_yaml_config consumes parts of the dict it is given.
        sky.Task.from_yaml_config(copy.deepcopy(config))
    except Exception as exc:  # SkyPilot raises ValueError and its own schema errors; any of them means invalid.
        return TaskValidation("invalid", f"{type(exc).__name__}: {' '.join(str(exc).split())}")
    return TaskValidation("valid", "accepted by sky.Task.from_yaml_config")
