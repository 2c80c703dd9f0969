"""The control plane: the host loop in code.

Owns the engine (the only code that changes a state), the driver behind `metaopt.py step`,
`resume` and `status`, the next action a host is given, the mechanical directives the driver runs
itself (AGENTS.md hook, reports), the campaign directory on disk (writer lock, validated state,
journal, archive) and the handoff scripts' shared command line. It imports the contract and the
handoffs; it never imports the executor (executor work runs as a child process).
"""
