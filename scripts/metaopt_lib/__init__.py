"""Shared library of the ml-metaoptimization skill: contracts, validation, machine table, I/O."""
