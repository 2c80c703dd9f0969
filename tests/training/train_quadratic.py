"""A small real training script for the local backend tests: reads wandb.config, logs a loss with
wandb.log under WANDB_MODE=offline, and records what it did in its own file so tests can check the
executor's report against the program's own account (not against the executor's capture).

A test that must kill a trial mid-run asks for it with a file pause-when-N-finished in the results
directory: the first trial to log its first loss while N trials have finished takes that file (renames
it, so only one does), records "paused" and logs nothing more until it is killed."""
import json
import os
import sys
import time

import wandb

DEFAULTS = {"x": 0.0, "y": 0.0, "epochs": 3, "epoch_seconds": 0.0, "behaviour": "normal"}


def loss_at(x, y, epoch, epochs):
    return round((x - 0.3) ** 2 + (y + 0.1) ** 2 + 0.01 * (epochs - 1 - epoch), 9)


def save(path, record):
    # Whole or not at all: the tests read these files while the trial is still running.
    with open(path + ".tmp", "w") as handle:
        json.dump(record, handle)
    os.replace(path + ".tmp", path)


def finished_trials(results):
    count = 0
    for name in os.listdir(results):
        if name.endswith(".json"):
            try:
                with open(os.path.join(results, name)) as handle:
                    count += json.load(handle).get("finished") is True
            except (OSError, ValueError):
                pass
    return count


def claim_pause(results, run_id):
    try:
        os.rename(os.path.join(results, f"pause-when-{finished_trials(results)}-finished"),
                  os.path.join(results, f"paused-{run_id}"))
    except FileNotFoundError:
        return False
    return True


def main():
    run = wandb.init(config=dict(DEFAULTS))
    cfg = run.config
    behaviour = cfg.behaviour
    record = {"run_id": run.id, "pid": os.getpid(), "config": {k: cfg[k] for k in DEFAULTS}, "losses": []}
    path = os.path.join(os.environ["METAOPT_TEST_RESULTS"], f"{run.id}.json")
    for epoch in range(int(cfg.epochs)):
        loss = loss_at(cfg.x, cfg.y, epoch, int(cfg.epochs))
        wandb.log({"loss": loss, "epoch": epoch})
        record["losses"].append(loss)
        save(path, record)
        if epoch == 0 and claim_pause(os.environ["METAOPT_TEST_RESULTS"], run.id):
            record["paused"] = True
            save(path, record)
            while True:  # killed here by the test, mid-trial
                time.sleep(1)
        if behaviour == "hang":  # stops logging and never ends: the idle watchdog must kill it
            while True:
                time.sleep(1)
        if cfg.epoch_seconds:
            time.sleep(cfg.epoch_seconds)
    if behaviour == "crash":
        sys.exit(3)
    run.finish()
    record["finished"] = True
    save(path, record)


if __name__ == "__main__":
    main()
