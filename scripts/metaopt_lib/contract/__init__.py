"""The contract: what every file that crosses a boundary must be, and the rules that say so.

Owns the JSON Schemas' loading and compilation, the strict YAML/JSON readers, the validation
library (document, state, envelope and sweep-config checks, every rule id), the state machine
table, the campaign's defaults and hashes, the skill's fixed paths and exit codes, and atomic file
writes. It is the bottom layer: it imports nothing else from metaopt_lib, and every other package
may import it.
"""
