"""The broker clock: MT5 writes the trade server's *wall clock* as if it were UTC epoch time.

Most brokers run their trade servers on "New York + 7 h" (GMT+2 in the northern winter,
GMT+3 in summer, switching with US daylight saving), so that the trading day starts at
server midnight = 17:00 New York. Every `Time`/`*Msc` value the simulator emits, and the
`from`/`to` it accepts, are on that clock: take the UTC instant, look up the wall clock in
`America/New_York` with the rule in force at that instant (zoneinfo), add 7 h, and write
the naive result as seconds since 1970. A client that mistakes these values for UTC is
off by 2 or 3 hours, which is what the simulator is for: such a mix-up fails a test.

The UTC "now" is injectable (`ManualClock`) so tests can jump 180 s without sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SERVER_ZONE = ZoneInfo("America/New_York")
SERVER_SHIFT = timedelta(hours=7)
_EPOCH = datetime(1970, 1, 1)


class Clock(Protocol):
    def now(self) -> float:
        """The current UTC instant as epoch seconds."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            start = time.time()
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds

    def set(self, when: datetime | float) -> None:
        with self._lock:
            self._t = when.timestamp() if isinstance(when, datetime) else float(when)


def utc_to_server_msc(utc_epoch: float) -> int:
    """UTC epoch seconds -> the trade server's wall clock as epoch milliseconds."""
    whole = int(utc_epoch // 1)
    ms = int(round((utc_epoch - whole) * 1000))
    wall = datetime.fromtimestamp(whole, UTC).astimezone(SERVER_ZONE).replace(tzinfo=None)
    wall += SERVER_SHIFT
    delta = wall - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + ms


def utc_datetime_to_server(dt: datetime) -> int:
    """An aware datetime -> server epoch seconds."""
    if dt.tzinfo is None:
        raise ValueError("a naive datetime is ambiguous here; pass an aware one")
    return utc_to_server_msc(dt.timestamp()) // 1000


def server_to_utc(server_epoch: int) -> datetime:
    """Server epoch seconds -> aware UTC datetime (ambiguous wall times take the first)."""
    wall = _EPOCH + timedelta(seconds=server_epoch) - SERVER_SHIFT
    return wall.replace(tzinfo=SERVER_ZONE).astimezone(UTC)


def server_offset_minutes(utc_epoch: float) -> int:
    """How far the server clock is ahead of UTC at that instant (120 or 180)."""
    return (utc_to_server_msc(utc_epoch) - int(utc_epoch // 1) * 1000) // 60000
