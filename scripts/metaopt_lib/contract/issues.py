"""The one error type of every reader: a problem at a JSON path, with what was expected and how to fix it."""
from __future__ import annotations

from collections import namedtuple


def render_path(parts) -> str:
    """Render path parts as a JSONPath such as $.compute.skypilot or $.proposals[0]."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += "[" + repr(part) + "]"
    return out


def _sort_key(parts):
    # ints before strings at the same depth keeps [2] before [10] and stays total.
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts)


# A namedtuple, not a dataclass: every process that reads a file builds these, and the dataclasses
# module would load inspect and ast into each of them (a good part of a step's start-up).
class Issue(namedtuple("Issue", "file parts rule problem expected fix", defaults=("", ""))):
    """One problem in one document."""

    __slots__ = ()

    @property
    def path(self) -> str:
        return render_path(self.parts)

    @property
    def message(self) -> str:
        text = f"{self.file}: {self.path}: {self.problem}"
        if self.expected:
            text += f". Expected: {self.expected}"
        if self.fix:
            text += f". Fix: {self.fix}"
        return text

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "rule": self.rule,
            "message": self.message,
            "expected": self.expected,
            "fix": self.fix,
        }


def sort_issues(issues) -> list:
    """Sorted by JSON path, then rule, without duplicates."""
    unique = {(i.parts, i.rule, i.problem): i for i in issues}
    return sorted(unique.values(), key=lambda i: (_sort_key(i.parts), i.rule, i.problem))


class ContractError(Exception):
    """Raised by load helpers when a document is invalid; carries every issue found."""

    def __init__(self, issues):
        self.issues = sort_issues(issues)
        super().__init__("\n".join(i.message for i in self.issues))
