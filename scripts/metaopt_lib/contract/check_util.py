"""Small helpers shared by the semantic check modules."""
from __future__ import annotations

import math
import re

from .issues import Issue

_ITER_IN_PATH = re.compile(r"/iter-([0-9]+)/")
USD_TOLERANCE = 1e-6


def is_number(value) -> bool:
    """A finite int or float, booleans excluded (ints are finite; huge ones are refused when read)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def iteration_path_issue(record, key, parts, label, iteration=None):
    """An Issue when record[key] is scoped to another iteration than the record's (or the given one)."""
    value = record.get(key) if isinstance(record, dict) else None
    match = _ITER_IN_PATH.search(value) if isinstance(value, str) else None
    want = record.get("iteration") if iteration is None else iteration
    if match and isinstance(want, int) and int(match.group(1)) != want:
        return [Issue(label, parts + (key,), "path.iteration_mismatch",
                      f"path is scoped to iteration {match.group(1)} but the record is iteration {want}",
                      f"a path under iter-{want}/", "use the record's own iteration in its paths")]
    return []
