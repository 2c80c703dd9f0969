"""Training script of the secrets test: prints every secret it was given (environment, inline
assignments, --api-key) and a credential-shaped token of its own, on stdout and stderr, before and after
wandb.init; then records a SHA-256 of each value it saw in $METAOPT_SEEN_DIR, so the test can tell the
program got the real values while no file or output of the skill shows them."""
import argparse
import hashlib
import json
import math
import os
import sys

import wandb

SECRET_VARIABLES = ("WANDB_API_KEY", "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "MY_SECRET_TOKEN", "CMD_SECRET_TOKEN")
OWN_TOKEN = "hf_" + "OwnTokenOfTheProgram" * 2  # never in any environment: only its shape gives it away


def digest(value):
    return None if value is None else hashlib.sha256(value.encode("utf-8")).hexdigest()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-key")
    args, _ = parser.parse_known_args()
    seen = {name: os.environ.get(name) for name in SECRET_VARIABLES}
    print("environment:", json.dumps(seen), "argv:", sys.argv, flush=True)
    print(f"api key flag: {args.api_key}; own token {OWN_TOKEN}", file=sys.stderr, flush=True)
    run = wandb.init(config={"lr": 0.01, "batch_size": 64})
    cfg = run.config
    print("after init:", " ".join(v for v in seen.values() if v), args.api_key, flush=True)
    val_loss = round((math.log10(cfg.lr) + 2.5) ** 2 + cfg.batch_size / 1000, 9)
    wandb.log({"val_loss": val_loss})
    run.finish()
    record = {"sweep_id": os.environ.get("WANDB_SWEEP_ID"), "api_key": digest(args.api_key),
              **{name: digest(value) for name, value in seen.items()}}
    with open(os.path.join(os.environ["METAOPT_SEEN_DIR"], f"{run.id}.json"), "w") as handle:
        json.dump(record, handle)


if __name__ == "__main__":
    main()
