"""The generators of the references' marked blocks (`<!-- BEGIN GENERATED: name -->`): every table
that restates a contract (states, transitions, owners, schema fields, rules, exit codes, preflight
checks, the W&B-to-Optuna mapping) is rendered here from its source and checked for drift by
scripts/sync_docs.py. It sits on top: it may import every other package, and nothing imports it.
"""
