"""What each preflight check means, for people: generated into references/preflight.md."""

# check: (passes when, fix when it fails)
CHECK_DESCRIPTIONS = {
    "campaign-valid": (
        "the campaign validates; otherwise the detail gives the count and the first problem",
        "fix the file (`python3 scripts/validate.py campaign ml_metaopt_campaign.yaml` lists every problem)"),
    "campaign-secrets": (
        "always (a warning, never a failure); the detail names each field of the campaign that holds a secret (a credential-shaped value, a literal value under a secret-named key, the value of an inline `NAME=value` or of a secret-named `--flag`), which every file and output shows as `[REDACTED]`",
        "pass the secret through the environment ([secrets.md](secrets.md))"),
    "python-version": (
        "Python is 3.10 or newer",
        "run the scripts with a newer Python"),
    "runtime-packages": (
        "PyYAML and jsonschema import (see [dependencies.md](dependencies.md))",
        "`python3 -m pip install -r requirements.txt`"),
    "project-program": (
        "`project.repo` (default `.`) is a directory under the project root and `project.program` a file in it, not resolving outside the project; it is never run",
        "correct `project.repo` or `project.program`"),
    "smoke-command": (
        "`project.smoke_test_command` is left out (the smoke test then runs `project.program` with one point of the selected sweep) or splits like a POSIX command line (`shlex`); the real 60-second smoke test runs it with `/bin/sh -c` in `project.repo` in LOCAL_SANITY, with that point in its environment",
        "balance its quotes, or leave it out"),
    "executor-present": (
        "the executor `scripts/skypilot_wandb_worker.py` is in the skill and `run --help` exits 0",
        "reinstall the skill, then check that the executor starts"),
    "optuna-importable": (
        "optuna imports (it drives the local search)",
        "`python3 -m pip install optuna`"),
    "wandb-importable": (
        "wandb imports in the Python that runs the preflight, which is the one that will run the executor, the smoke test and every trial (the unchanged training script imports it)",
        "`python3 -m pip install wandb`"),
    "process-listing": (
        "always (a warning, never a failure); the detail says how teardown lists the sweep's processes: psutil when installed, else Linux /proc; with neither (macOS without psutil) a process that left its trial's process group is not found and outlives teardown",
        "`python3 -m pip install psutil` (optional)"),
    "skypilot-importable": (
        "`import sky` succeeds (slow, so only for this backend)",
        "`python3 -m pip install \"skypilot[vast]\"`"),
    "wandb-api-key": (
        "`WANDB_API_KEY` is set or the netrc file (`$NETRC` or `~/.netrc`) has `api.wandb.ai`",
        "`wandb login`, or set `WANDB_API_KEY`"),
    "skypilot-vast-credentials": (
        "`~/.config/vastai/vast_api_key` exists and is not empty",
        "`vastai set api-key KEY`, then `sky check vast`"),
}
