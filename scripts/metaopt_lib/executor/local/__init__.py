"""The local backend (compute.backend: local): a detached runner that samples the W&B search space
with Optuna and runs the user's unchanged program as real trials on this machine, with the idle
watchdog, the wall-clock and budget caps, restarts and a teardown that leaves no process. It imports
the executor's shared modules and the contract; never the cloud backend.
"""
