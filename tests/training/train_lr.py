"""Training script of the real-executor campaign test: val_loss depends on lr and batch_size, read
from wandb.config; logged with wandb.log; its own record goes to $METAOPT_TEST_RESULTS if set."""
import json
import math
import os

import wandb


def main():
    run = wandb.init(config={"lr": 0.01, "batch_size": 64, "epochs": 2})
    cfg = run.config
    for epoch in range(int(cfg.epochs)):
        val_loss = round((math.log10(cfg.lr) + 2.5) ** 2 + cfg.batch_size / 1000 + 0.01 * (1 - epoch), 9)
        wandb.log({"val_loss": val_loss, "epoch": epoch})
    run.finish()
    results = os.environ.get("METAOPT_TEST_RESULTS")
    if results:
        with open(os.path.join(results, f"{run.id}.json"), "w") as handle:
            json.dump({"run_id": run.id, "lr": cfg.lr, "batch_size": cfg.batch_size, "val_loss": val_loss}, handle)


if __name__ == "__main__":
    main()
