from datetime import UTC, datetime, timedelta

import pytest

from clients.platforms.clock import UTC_CLOCK, ServerClock

BROKER = ServerClock("America/New_York", 7)
H = timedelta(hours=1)


def server_seconds(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    """A server wall-clock reading written the MT5 way: as if it were UTC epoch seconds."""
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("utc", "offset"),
    [
        (datetime(2026, 1, 15, 12, 0, tzinfo=UTC), 2 * H),
        (datetime(2026, 3, 6, 12, 0, tzinfo=UTC), 2 * H),  # the Friday before the US switch
        (datetime(2026, 3, 9, 12, 0, tzinfo=UTC), 3 * H),  # the Monday after it
        (datetime(2026, 3, 20, 12, 0, tzinfo=UTC), 3 * H),  # Europe still on winter time
        (datetime(2026, 7, 1, 12, 0, tzinfo=UTC), 3 * H),
        (datetime(2026, 10, 30, 12, 0, tzinfo=UTC), 3 * H),  # Europe already switched back
        (datetime(2026, 11, 2, 12, 0, tzinfo=UTC), 2 * H),  # the Monday after the US switch
    ],
)
def test_offset_follows_new_york_daylight_saving(utc: datetime, offset: timedelta) -> None:
    assert BROKER.offset_at(utc) == offset
    assert BROKER.from_utc(utc) == int(utc.timestamp()) + int(offset.total_seconds())


def test_the_trading_day_starts_at_server_midnight_which_is_17_new_york() -> None:
    winter_midnight = server_seconds(2026, 1, 16, 0)
    assert BROKER.to_utc(winter_midnight) == datetime(2026, 1, 15, 22, 0, tzinfo=UTC)
    summer_midnight = server_seconds(2026, 7, 2, 0)
    assert BROKER.to_utc(summer_midnight) == datetime(2026, 7, 1, 21, 0, tzinfo=UTC)


def test_conversion_across_the_march_switch() -> None:
    # US DST starts Sunday 8 March 2026 at 02:00 New York = 07:00 UTC.
    before = datetime(2026, 3, 8, 6, 59, tzinfo=UTC)
    after = datetime(2026, 3, 8, 7, 1, tzinfo=UTC)
    assert BROKER.from_utc(before) == server_seconds(2026, 3, 8, 8, 59)
    assert BROKER.from_utc(after) == server_seconds(2026, 3, 8, 10, 1)
    assert BROKER.to_utc(server_seconds(2026, 3, 8, 8, 59)) == before
    assert BROKER.to_utc(server_seconds(2026, 3, 8, 10, 1)) == after


def test_conversion_across_the_november_switch() -> None:
    # US DST ends Sunday 1 November 2026 at 02:00 New York (EDT) = 06:00 UTC.
    before = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    after = datetime(2026, 11, 1, 7, 30, tzinfo=UTC)
    assert BROKER.from_utc(before) == server_seconds(2026, 11, 1, 8, 30)
    assert BROKER.from_utc(after) == server_seconds(2026, 11, 1, 9, 30)
    assert BROKER.to_utc(server_seconds(2026, 11, 1, 9, 30)) == after


@pytest.mark.parametrize("days", range(0, 366, 7))
def test_round_trip_through_a_year_in_milliseconds(days: int) -> None:
    moment = datetime(2026, 1, 1, 13, 45, 12, 345000, tzinfo=UTC) + timedelta(days=days)
    assert BROKER.to_utc_ms(BROKER.from_utc_ms(moment)) == moment


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        BROKER.from_utc(datetime(2026, 1, 1))


def test_utc_clock_is_identity() -> None:
    moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert UTC_CLOCK.from_utc(moment) == int(moment.timestamp())
    assert UTC_CLOCK.to_utc(int(moment.timestamp())) == moment
