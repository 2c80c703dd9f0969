"""Numbers and words as a person reads them: about five significant digits, never a float's repr."""
from __future__ import annotations

import json
import math

SIGNIFICANT = 5


def readable(value) -> str:
    """A value for a report or the status screen: None as a dash, floats to about 5 significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if 10 ** SIGNIFICANT <= abs(value) < 1e6:
            return f"{value:.0f}"  # 123457, not 1.2346e+05
        return f"{value:.{SIGNIFICANT}g}"
    if isinstance(value, (int, str)):
        return str(value)
    return json.dumps(value, sort_keys=True)


def direction_words(direction: str) -> str:
    return "higher is better" if direction == "maximize" else "lower is better"
