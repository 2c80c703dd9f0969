"""The (check, failure) pair every preflight check returns, with one-line texts."""
from __future__ import annotations


from ..contract.conventions import one_line as line


def passed(name, detail, result="pass"):
    return {"name": name, "result": result, "detail": line(detail)}, None


def fail(name, detail, fix):
    return {"name": name, "result": "fail", "detail": line(detail)}, {"check": name, "message": line(detail),
                                                                      "fix": line(fix)}
