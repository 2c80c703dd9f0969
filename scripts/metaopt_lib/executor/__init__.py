"""The executor (skypilot-wandb-worker): carries out run_smoke_test, launch_sweep, poll_sweep and teardown
directives against a backend (local or skypilot). The only part of the skill that starts processes or
spends money."""
