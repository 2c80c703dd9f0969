"""Timestamps as the contract writes them: RFC 3339 in UTC, whole seconds, a trailing Z."""
from __future__ import annotations

import datetime


def parse_time(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def add_seconds(text: str, seconds: float) -> str:
    return format_time(parse_time(text) + datetime.timedelta(seconds=seconds))
