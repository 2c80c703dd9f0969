"""A training script written like W&B's own sweep examples: every hyperparameter comes from
wandb.config with no default in the script, so it runs only when the sweep hands it a point.
It never reads `momentum`, which a careless sweep might still vary."""
import math

import wandb


def main():
    run = wandb.init()
    lr = wandb.config.lr
    batch_size = wandb.config["batch_size"]
    for epoch in range(2):
        val_loss = round((math.log10(lr) + 2.5) ** 2 + batch_size / 1000 + 0.01 * (1 - epoch), 9)
        wandb.log({"val_loss": val_loss, "epoch": epoch})
    run.finish()


if __name__ == "__main__":
    main()
