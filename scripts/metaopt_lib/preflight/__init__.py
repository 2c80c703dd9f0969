"""metaopt-preflight: the one-shot readiness check a campaign needs before LOAD_CAMPAIGN accepts it.

Owns the checks (packages, the W&B and Vast.ai credentials, the project's files, that the executor
starts), their catalog of descriptions, and the artifact .ml-metaopt/preflight-readiness.json. It
imports only the contract; the executor is started as a child process, never imported.
"""
