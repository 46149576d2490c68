"""Flood control per conversation: a token bucket for each, in memory, bounded.

A conversation may send a burst of `burst` messages, then `per_minute` a minute. The first message
over the limit gets a notice; the next ones are dropped silently until the bucket is full again
(the person has slowed down for a while), so a flood gets one notice, not one per message.

A bucket that has filled up again is the same as none, so it is forgotten: memory holds only the
conversations active within the last refill time, and never more than `tracked` of them (the least
recently active are forgotten first, which can only let a message through that would have waited).

Why no library: aiolimiter (installed with python-telegram-bot) waits for capacity instead of
refusing and reads the event loop's clock; pyrate-limiter needs a bucket factory and a leaking
task. A bucket with an injectable clock is a few lines and testable without waiting.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

DEFAULT_BURST = 15
DEFAULT_PER_MINUTE = 15.0
DEFAULT_TRACKED = 10_000


class Pace(Enum):
    OK = "ok"  # within the limit: handle the message
    WARN = "warn"  # the first message over the limit: tell the person, drop the message
    DROP = "drop"  # over the limit and already told: drop the message


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class FloodGuard:
    def __init__(
        self,
        burst: int = DEFAULT_BURST,
        per_minute: float = DEFAULT_PER_MINUTE,
        tracked: int = DEFAULT_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if burst < 1 or per_minute <= 0 or tracked < 1:
            raise ValueError("burst, per_minute and tracked must be positive")
        self.burst = burst
        self._per_second = per_minute / 60
        self._tracked = tracked
        self._clock = clock
        # Least recently active first.
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    @property
    def tracked(self) -> int:
        """How many conversations' buckets are in memory."""
        return len(self._buckets)

    def check(self, key: str) -> Pace:
        """Counts one message of conversation `key`."""
        now = self._clock()
        self._forget_rested(now)
        bucket = self._buckets.pop(key, None) or _Bucket(tokens=self.burst, stamp=now)
        self._refill(bucket, now)
        self._buckets[key] = bucket
        if len(self._buckets) > self._tracked:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return Pace.OK
        if bucket.warned:
            return Pace.DROP
        bucket.warned = True
        return Pace.WARN

    def _refill(self, bucket: _Bucket, now: float) -> None:
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self._per_second)
        bucket.stamp = now
        if bucket.tokens >= self.burst:
            bucket.warned = False

    def _forget_rested(self, now: float) -> None:
        """Drops full buckets from the least recently active end; the first one still filling
        stops the sweep (later ones were active more recently, most are still filling too)."""
        while self._buckets:
            key, bucket = next(iter(self._buckets.items()))
            if bucket.tokens + (now - bucket.stamp) * self._per_second < self.burst:
                return
            del self._buckets[key]
