"""The (check, failure) pair every preflight check returns, with one-line texts."""
from __future__ import annotations


def line(text: str, limit: int = 300) -> str:
    """One line of at most `limit` characters."""
    text = " ".join(str(text).split()) or "-"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def passed(name, detail, result="pass"):
    return {"name": name, "result": result, "detail": line(detail)}, None


def fail(name, detail, fix):
    return {"name": name, "result": "fail", "detail": line(detail)}, {"check": name, "message": line(detail),
                                                                      "fix": line(fix)}
