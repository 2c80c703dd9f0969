"""Shared library of the ml-metaoptimization skill, one package per concern.

Imports point one way, bottom to top (tests/test_layering.py pins it):
  contract/   schemas, readers, validation, rules, machine table, campaign hashes, paths, atomic I/O
  handoffs/   the six control agents as pure functions                         (imports contract)
  control/    engine, driver, actions, mechanical directives, state store      (contract, handoffs)
  executor/   smoke test, local/ and cloud/ backends                           (contract)
  preflight/  the readiness checks and their artifact                          (contract)
  docs/       generators of the references' marked blocks                      (anything)
The scripts in scripts/ are thin command lines over these packages.
"""
