"""A recorded, in-memory fake of the CloudAdapter (W&B + SkyPilot + Vast.ai) for the skypilot backend tests.

Shapes follow the real services as the real adapter reports them:
- W&B public API: sweep states upper case (RUNNING, PAUSED, FINISHED, CANCELED); `wandb sweep --stop`
  turns an active sweep FINISHED; run states lower case (running, finished, crashed, failed, killed);
  a stopped run becomes killed; heartbeatAt and the summary's _timestamp tell progress; WANDB_TAGS at
  launch become the run's tags.
- SkyPilot: a launched cluster is listed UP with its launch time and catalog price; a launch that fails
  during provisioning can leave the cluster listed INIT; downing a missing cluster succeeds.
- Vast.ai (`vastai show instances --raw`): one instance per cluster, labelled '<cluster>-<user hash>-head',
  billed at dph_total from its start date until it is destroyed.

Scripted trouble: `fail[method]` raises a CloudError on every call of that method; `fail_launch[agent]`
fails launching that agent's cluster; `crash_after[method] = n` raises SimulatedCrash right after the
side effect of the n-th call (the process "dies" before recording it); `vast_hidden` makes Vast.ai list
nothing while instances bill; `down_leaves_instance` keeps an instance billing after its cluster is downed.
"""
from __future__ import annotations

import datetime
import math
import re

import support  # noqa: F401
from metaopt_lib.executor.cloud.adapter import CloudError, ClusterInfo, InstanceInfo, RunInfo, SweepInfo

SKY_NAME = re.compile(r"[a-zA-Z]([-_.a-zA-Z0-9]*[a-zA-Z0-9])?")
ACTIVE_SWEEP = ("RUNNING", "PENDING", "PAUSED")


class SimulatedCrash(Exception):
    """The executor process died right after a side effect, before it could record it."""


class FakeClock:
    def __init__(self, start="2026-11-22T10:00:00+00:00"):
        self.now = datetime.datetime.fromisoformat(start)

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta) -> datetime.datetime:
        self.now += datetime.timedelta(**delta)
        return self.now


class FakeCloud:
    def __init__(self, clock: FakeClock, *, sky_price=0.4, vast_price=0.45, user_hash="ab12cd34"):
        self.clock, self.sky_price, self.vast_price, self.user_hash = clock, sky_price, vast_price, user_hash
        self.calls = []
        self.sweeps, self.runs, self.clusters, self.instances = {}, {}, {}, {}
        self.launch_configs, self.launch_secrets = {}, {}
        self.fail, self.fail_launch, self.crash_after = {}, {}, {}
        self.vast_hidden, self.sky_hidden, self.down_leaves_instance = False, set(), set()
        self.fail_launch_leaves_init = False

    # ---- call log and scripted trouble -----------------------------------------------------------

    def _enter(self, method, *args):
        self.calls.append((method,) + args)
        if method in self.fail:
            raise self.fail[method]

    def _after_effect(self, method):
        if method in self.crash_after:
            self.crash_after[method] -= 1
            if self.crash_after[method] == 0:
                del self.crash_after[method]
                raise SimulatedCrash(f"crashed right after {method}")

    def count(self, method) -> int:
        return sum(1 for call in self.calls if call[0] == method)

    def launched_names(self) -> list:
        return [call[1] for call in self.calls if call[0] == "launch_cluster"]

    def true_bill(self) -> float:
        """What Vast.ai would charge so far: every instance's dph_total × its lifetime."""
        total = 0.0
        for inst in self.instances.values():
            end = inst["ended_at"] or self.clock()
            total += inst["price"] * max(0.0, (end - inst["started_at"]).total_seconds()) / 3600
        return total

    # ---- test controls ---------------------------------------------------------------------------

    def add_run(self, sweep_id, run_id, *, cluster=None, state="running", metric=None, heartbeat=None,
                logged=None, config=None, created=None):
        now = self.clock()
        self.runs.setdefault(sweep_id, {})[run_id] = {
            "state": state, "metric": metric, "heartbeat": heartbeat or now, "logged": logged,
            "created": created or now, "tags": (cluster,) if cluster else (), "config": config or {"lr": 0.01}}

    def set_sweep_state(self, sweep_id, state):
        self.sweeps[sweep_id]["state"] = state

    def autodown(self, name):
        """SkyPilot's autostop with down: the machine goes away by itself."""
        self.clusters.pop(name, None)
        for inst in self.instances.values():
            if inst["cluster"] == name and inst["ended_at"] is None:
                inst["ended_at"] = self.clock()

    def only_sweep(self) -> str:
        (sweep_id,) = self.sweeps
        return sweep_id

    # ---- W&B --------------------------------------------------------------------------------------

    def _info(self, sweep_id) -> SweepInfo:
        s = self.sweeps[sweep_id]
        return SweepInfo(sweep_id, s["name"], s["state"], f"https://wandb.ai/{s['entity']}/{s['project']}/sweeps/"
                         f"{sweep_id}", s["config"].get("run_cap"), s["created_at"])

    def find_sweep(self, entity, project, name):
        self._enter("find_sweep", entity, project, name)
        found = [i for i, s in self.sweeps.items() if (s["entity"], s["project"], s["name"]) == (entity, project, name)]
        return self._info(max(found, key=lambda i: self.sweeps[i]["created_at"])) if found else None

    def create_sweep(self, entity, project, config):
        self._enter("create_sweep", entity, project, config.get("name"))
        sweep_id = f"swp{len(self.sweeps) + 1:05d}"
        self.sweeps[sweep_id] = {"entity": entity, "project": project, "name": config.get("name") or sweep_id,
                                 "state": "RUNNING", "config": dict(config),
                                 "created_at": self.clock() + datetime.timedelta(microseconds=len(self.sweeps))}
        self._after_effect("create_sweep")
        return self._info(sweep_id)

    def get_sweep(self, entity, project, sweep_id):
        self._enter("get_sweep", sweep_id)
        if sweep_id not in self.sweeps:
            raise CloudError("sweep-not-found", f"could not find sweep {entity}/{project}/{sweep_id}", False)
        return self._info(sweep_id)

    def stop_sweep(self, entity, project, sweep_id):
        self._enter("stop_sweep", sweep_id)
        if self.sweeps[sweep_id]["state"] in ACTIVE_SWEEP:
            self.sweeps[sweep_id]["state"] = "FINISHED"
        self._after_effect("stop_sweep")

    def list_runs(self, entity, project, sweep_id, metric):
        self._enter("list_runs", sweep_id)
        out = []
        for run_id, r in self.runs.get(sweep_id, {}).items():
            value = r["metric"] if isinstance(r["metric"], (int, float)) and math.isfinite(r["metric"]) else None
            out.append(RunInfo(run_id, f"run-{run_id}", r["state"], f"https://wandb.ai/{entity}/{project}/runs/"
                               f"{run_id}", dict(r["config"]), value, r["heartbeat"], r["logged"], r["tags"],
                               r["created"]))
        return out

    def stop_run(self, entity, project, run_id):
        self._enter("stop_run", run_id)
        for runs in self.runs.values():
            if run_id in runs and runs[run_id]["state"] == "running":
                runs[run_id]["state"] = "killed"
        self._after_effect("stop_run")

    # ---- SkyPilot and Vast.ai -------------------------------------------------------------------

    def launch_cluster(self, name, task_config, secrets):
        self._enter("launch_cluster", name)
        assert SKY_NAME.fullmatch(name), f"SkyPilot would reject the cluster name {name!r}"
        self.launch_configs[name], self.launch_secrets[name] = task_config, dict(secrets)
        agent = int(name.rsplit("-a", 1)[1])
        if agent in self.fail_launch or name in self.fail_launch:
            if self.fail_launch_leaves_init:
                self.clusters[name] = {"status": "INIT", "launched_at": self.clock()}
            raise self.fail_launch.get(agent) or self.fail_launch[name]
        self.clusters[name] = {"status": "UP", "launched_at": self.clock()}
        self.instances[f"{9000 + len(self.instances)}"] = {
            "cluster": name, "label": f"{name}-{self.user_hash}-head", "price": self.vast_price,
            "started_at": self.clock(), "ended_at": None}
        self._after_effect("launch_cluster")

    def list_clusters(self, prefix):
        self._enter("list_clusters", prefix)
        return [ClusterInfo(name, c["status"], c["launched_at"], self.sky_price if c["status"] == "UP" else None)
                for name, c in sorted(self.clusters.items()) if name.startswith(prefix) and name not in self.sky_hidden]

    def down_cluster(self, name):
        self._enter("down_cluster", name)
        self.clusters.pop(name, None)
        if name not in self.down_leaves_instance:
            for inst in self.instances.values():
                if inst["cluster"] == name and inst["ended_at"] is None:
                    inst["ended_at"] = self.clock()
        self._after_effect("down_cluster")

    def list_instances(self):
        self._enter("list_instances")
        if self.vast_hidden:
            return []
        return [InstanceInfo(iid, i["label"], "running", i["price"], i["started_at"])
                for iid, i in sorted(self.instances.items()) if i["ended_at"] is None]
