"""The step's sense of time: the system clock, or a frozen one (--now) under which nothing sleeps.

A clock has now() (an RFC 3339 UTC timestamp, what every time rule compares), monotonic() (seconds,
for the step's own wait bound) and sleep(seconds). Tests pass a simulated clock with the same three.
"""
from __future__ import annotations

import datetime
import time

from ..contract.clock import format_time


class SystemClock:
    frozen = False

    def now(self) -> str:
        return format_time(datetime.datetime.now(datetime.timezone.utc))

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FrozenClock:
    """Every time rule is evaluated at one moment (replays and tests): the step never sleeps or runs
    the executor, it hands both to the caller."""

    frozen = True

    def __init__(self, moment: str):
        self.moment = moment

    def now(self) -> str:
        return self.moment

    def monotonic(self) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        raise RuntimeError("a frozen clock cannot sleep")
