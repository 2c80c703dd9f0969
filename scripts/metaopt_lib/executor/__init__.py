"""The executor (skypilot-wandb-worker): carries out run_smoke_test, launch_sweep, poll_sweep and teardown
directives against a backend, and is the only part of the skill that starts processes or spends money.

Owns the directive runner (core), the smoke test, the executor's own records, outcomes and process
handling shared by both backends; `local/` is the local backend (a detached Optuna runner and real
trials), `cloud/` the SkyPilot + W&B backend behind one adapter seam. It imports only the contract:
never the control plane or the handoffs, which reach it as a child process.
"""
