"""Warnings: what a document may say but probably should not. A warning never makes a document invalid.

One channel for every kind: `document_warnings(kind, document, label)` returns Issues, sorted by JSON
path, that validate.py lists under "warnings" and the preflight prints on stderr.
"""
from __future__ import annotations

from .campaign_secrets import campaign_secret_warnings
from .issues import sort_issues


def document_warnings(kind: str, document, label: str) -> list:
    """Every warning about an already-parsed document of this kind (none for kinds without any)."""
    if not isinstance(document, dict):
        return []
    if kind == "campaign":
        return sort_issues(campaign_secret_warnings(document, label))
    return []
