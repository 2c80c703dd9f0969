"""Quickstart training program: a one-hidden-layer network on scikit-learn's handwritten digits
(shipped with scikit-learn, no download), a second or two per run on a CPU.

It reads its hyperparameters from wandb.config and logs `val_accuracy` after every epoch, which
is all the skill needs from a training script. Run alone it trains with DEFAULTS; in a sweep the
sweep's values replace them. `seed` sets the validation split and the network's initialisation, so
re-running a configuration with other seeds shows how much of a difference is noise.
"""
import warnings

import wandb
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

DEFAULTS = {"hidden_units": 32, "learning_rate_init": 0.001, "alpha": 0.0001, "batch_size": 64, "epochs": 15, "seed": 0}


def main():
    run = wandb.init(project="metaopt-quickstart", config=DEFAULTS)
    config = wandb.config
    images, labels = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(images / 16.0, labels, test_size=0.3,
                                                      random_state=int(config.seed), stratify=labels)
    model = MLPClassifier(hidden_layer_sizes=(int(config.hidden_units),), alpha=float(config.alpha),
                          learning_rate_init=float(config.learning_rate_init), batch_size=int(config.batch_size),
                          max_iter=1, warm_start=True, random_state=int(config.seed))
    warnings.filterwarnings("ignore", category=ConvergenceWarning)  # one epoch per fit, on purpose
    for epoch in range(1, int(config.epochs) + 1):
        model.fit(x_train, y_train)
        accuracy = model.score(x_val, y_val)
        wandb.log({"epoch": epoch, "val_accuracy": accuracy})
    run.finish()
    print(f"val_accuracy={accuracy:.6f}")


if __name__ == "__main__":
    main()
