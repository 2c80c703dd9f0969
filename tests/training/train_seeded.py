"""Training script of the honesty campaign test: val_loss depends on lr and batch_size plus a
split-to-split noise set by the seed it reads from wandb.config (0 unless a sweep sets it), like a
real program whose data split and initialisation follow its seed. It records what it did, the seed
included, to $METAOPT_TEST_RESULTS if set."""
import json
import math
import os

import wandb


def noise(seed):
    """A fixed pseudo-random offset in [-0.05, 0.05) per seed."""
    return ((int(seed) * 2654435761) % 1000) / 10000 - 0.05


def main():
    run = wandb.init(config={"lr": 0.01, "batch_size": 64, "seed": 0})
    cfg = run.config
    val_loss = round((math.log10(cfg.lr) + 2.5) ** 2 + cfg.batch_size / 1000 + noise(cfg.seed), 9)
    wandb.log({"val_loss": val_loss})
    run.finish()
    results = os.environ.get("METAOPT_TEST_RESULTS")
    if results:
        with open(os.path.join(results, f"{run.id}.json"), "w") as handle:
            json.dump({"run_id": run.id, "lr": cfg.lr, "batch_size": cfg.batch_size, "seed": cfg.seed,
                       "val_loss": val_loss}, handle)


if __name__ == "__main__":
    main()
