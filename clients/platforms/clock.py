"""The trade server's clock.

MT5 writes times as the server's *wall clock* counted as if it were UTC epoch
seconds. Most brokers run "New York + 7 h" (GMT+2 in winter, GMT+3 in summer,
switching on the US daylight-saving dates, so the trading day starts at 17:00 New
York). A fixed offset is wrong for the weeks between the US and EU switches, so a
server clock is an IANA zone plus a shift, applied with the rule in force at the
instant being converted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_EPOCH = datetime(1970, 1, 1)  # naive: a server wall-clock reading, not an instant


@dataclass(frozen=True)
class ServerClock:
    zone: str = "America/New_York"
    shift_hours: float = 7

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def _shift(self) -> timedelta:
        return timedelta(hours=self.shift_hours)

    # server -> UTC

    def to_utc_ms(self, server_ms: int) -> datetime:
        wall = _EPOCH + timedelta(milliseconds=int(server_ms)) - self._shift
        # In the autumn hour that repeats in the zone, fold=0 picks the first (summer)
        # reading; in the spring gap zoneinfo maps the missing reading forward. Both
        # fall on Sunday morning server time, when FX is closed.
        return wall.replace(tzinfo=self._tz).astimezone(UTC)

    def to_utc(self, server_seconds: int | float) -> datetime:
        return self.to_utc_ms(round(float(server_seconds) * 1000))

    # UTC -> server

    def from_utc_ms(self, moment: datetime) -> int:
        if moment.tzinfo is None:
            raise ValueError("a naive datetime is ambiguous here; pass an aware (UTC) one")
        local = moment.astimezone(self._tz).replace(tzinfo=None) + self._shift
        delta = local - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000

    def from_utc(self, moment: datetime) -> int:
        return self.from_utc_ms(moment) // 1000

    def offset_at(self, moment: datetime) -> timedelta:
        """Server clock minus UTC at that instant (e.g. +2 h in winter, +3 h in summer)."""
        return timedelta(milliseconds=self.from_utc_ms(moment)) - (
            moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
        )

    def server_now(self) -> int:
        return self.from_utc(datetime.now(UTC))


UTC_CLOCK = ServerClock(zone="UTC", shift_hours=0)
