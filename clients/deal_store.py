# ruff: noqa: S608  (every SQL string here is built from this module's own constants)
"""Storing deals: set-based, idempotent, fast (the deal-sync hot path).

Deals arrive from a trading platform (clients.platforms) in batches. They are COPYed into a
temporary table and merged into clients_deal with one INSERT ... ON CONFLICT: a new ticket
is inserted, a ticket whose content changed (a dealer's edit, a cancel turning a buy into
"buy canceled") is updated, and an unchanged one is left alone, so a re-run of the same
window writes nothing. No row-by-row ORM saves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

# MT5 deal action codes we know (specs/mt5-webapi.md §2); any other is stored and flagged.
KNOWN_ACTIONS = frozenset(range(0, 21))
# The deals that close (part of) a position: the ones commissions and risk consume.
CLOSING_ENTRIES = frozenset({1, 2, 3})  # out, inout, out_by
TRADE_ACTIONS = frozenset({0, 1})

COLUMNS = (
    "ticket",
    "login",
    "order",
    "position_id",
    "action",
    "entry",
    "reason",
    "symbol",
    "volume_ext",
    "price",
    "profit",
    "swap",
    "commission",
    "fee",
    "time",
    "time_msc",
    "comment",
    "external_id",
    "unknown_action",
    "raw",
)
# What a dealer's edit can change: compared to decide whether an existing row is updated.
CONTENT = [c for c in COLUMNS if c not in ("ticket",)]


@dataclass(frozen=True)
class StoreResult:
    seen: int
    inserted: int
    updated: int
    # Tickets of new closing trade deals, for the consumers (commissions, risk).
    new_closing: list[int]


def _row(deal: Any) -> tuple[Any, ...]:
    action = int(deal.action)
    return (
        int(deal.ticket),
        int(deal.login),
        int(getattr(deal, "order", 0) or 0),
        int(getattr(deal, "position_id", 0) or 0),
        action,
        int(getattr(deal, "entry", 0) or 0),
        int(getattr(deal, "reason", 0) or 0),
        str(getattr(deal, "symbol", "") or "")[:32],
        int(getattr(deal, "volume_ext", 0) or 0),
        Decimal(getattr(deal, "price", 0) or 0),
        Decimal(getattr(deal, "profit", 0) or 0),
        Decimal(getattr(deal, "swap", 0) or 0),
        Decimal(getattr(deal, "commission", 0) or 0),
        Decimal(getattr(deal, "fee", 0) or 0),
        deal.time,
        int(deal.time_msc),
        str(getattr(deal, "comment", "") or "")[:64],
        str(getattr(deal, "external_id", "") or "")[:64],
        action not in KNOWN_ACTIONS,
        json.dumps(getattr(deal, "raw", {}) or {}, sort_keys=True, default=str),
    )


def deals_store(
    *, server_id: int, deals: Iterable[Any], now: datetime | None = None
) -> StoreResult:
    """Upsert deals of one server; call inside the transaction that also moves the cursor."""
    now = now or timezone.now()
    rows = [_row(d) for d in deals]
    if not rows:
        return StoreResult(seen=0, inserted=0, updated=0, new_closing=[])
    quoted = ", ".join(f'"{c}"' for c in COLUMNS)
    changed = " OR ".join(f'd."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in CONTENT)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in CONTENT)
    with connection.cursor() as cursor:
        cursor.execute(
            """CREATE TEMP TABLE IF NOT EXISTS _deal_batch (
                   ticket bigint, login bigint, "order" bigint, position_id bigint,
                   action smallint, entry smallint, reason smallint, symbol varchar(32),
                   volume_ext bigint, price numeric(24, 8), profit numeric(24, 8),
                   swap numeric(24, 8), commission numeric(24, 8), fee numeric(24, 8),
                   time timestamptz, time_msc bigint, comment varchar(64),
                   external_id varchar(64), unknown_action boolean, raw text
               ) ON COMMIT DELETE ROWS"""
        )
        cursor.execute("DELETE FROM _deal_batch")
        with cursor.cursor.copy(f"COPY _deal_batch ({quoted}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # The same ticket twice in one batch: keep the last (the freshest copy).
        cursor.execute(
            f"""
            WITH batch AS (
                SELECT DISTINCT ON (ticket) {quoted} FROM _deal_batch ORDER BY ticket, ctid DESC
            ), merged AS (
                INSERT INTO clients_deal AS d ({quoted}, server_id, synced_at)
                SELECT {quoted}, %s, %s FROM batch
                ON CONFLICT (server_id, ticket) DO UPDATE SET {updates}, synced_at = EXCLUDED.synced_at
                WHERE {changed}
                RETURNING d.ticket, d.action, d.entry, (xmax = 0) AS inserted
            )
            SELECT ticket, action, entry, inserted FROM merged
            """,  # noqa: S608 (column names are constants of this module)
            [server_id, now],
        )
        merged = cursor.fetchall()
    inserted = [r for r in merged if r[3]]
    return StoreResult(
        seen=len(rows),
        inserted=len(inserted),
        updated=len(merged) - len(inserted),
        new_closing=sorted(
            t
            for t, action, entry, _ in inserted
            if action in TRADE_ACTIONS and entry in CLOSING_ENTRIES
        ),
    )


# The bulk path of the sync: the server's records, as they came (string scalars, its own
# clock), are COPYed as text into a temporary table and converted in PostgreSQL, set-based:
# one COPY and one INSERT per day instead of a Python object per deal (bench/README.md).
# Times: MT5 writes its own wall clock (zone + shift, see clients.platforms.clock); the UTC
# instant is worked out with PostgreSQL's rules for that zone. (In the one autumn hour that
# repeats, PostgreSQL picks the later reading and ServerClock the earlier: that is Sunday
# morning on the server, when the markets are closed.)
RECORD_FIELDS = (
    "Deal", "Login", "Order", "PositionID", "Action", "Entry", "Reason", "Symbol",
    "VolumeExt", "Volume", "Price", "Profit", "Storage", "Commission", "Fee", "TimeMsc",
    "Time", "Comment", "ExternalID",
)  # fmt: skip
_RECORDS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS _deal_records ("
    + ", ".join(f'"{f}" text' for f in RECORD_FIELDS)
    + ", raw text) ON COMMIT DELETE ROWS"
)


def _int(field: str, default: str = "0") -> str:
    return f"coalesce(nullif(r.\"{field}\", '')::bigint, {default})"


def _num(field: str) -> str:
    return f"coalesce(nullif(r.\"{field}\", '')::numeric, 0)"


_RECORDS_SELECT = f"""
    SELECT r."Deal"::bigint AS ticket,
           r."Login"::bigint AS login,
           {_int("Order")} AS "order",
           {_int("PositionID")} AS position_id,
           r."Action"::smallint AS action,
           {_int("Entry")}::smallint AS entry,
           {_int("Reason")}::smallint AS reason,
           left(coalesce(r."Symbol", ''), 32) AS symbol,
           {_int("VolumeExt", _int("Volume") + " * 10000")} AS volume_ext,
           {_num("Price")} AS price,
           {_num("Profit")} AS profit,
           {_num("Storage")} AS swap,
           {_num("Commission")} AS commission,
           {_num("Fee")} AS fee,
           ((to_timestamp({_int("TimeMsc", 'r."Time"::bigint * 1000')} / 1000.0)
              AT TIME ZONE 'UTC') - make_interval(hours => %(shift)s)) AT TIME ZONE %(zone)s
               AS time,
           {_int("TimeMsc", 'r."Time"::bigint * 1000')} AS time_msc,
           left(coalesce(r."Comment", ''), 64) AS comment,
           left(coalesce(r."ExternalID", ''), 64) AS external_id,
           r."Action"::smallint NOT BETWEEN {min(KNOWN_ACTIONS)} AND {max(KNOWN_ACTIONS)}
               AS unknown_action,
           r.raw
      FROM _deal_records r
"""


@dataclass(frozen=True)
class PreparedDeals:
    """A batch of server records as COPY text for _deal_records, made ahead of the store
    (by the sync's reader thread, while PostgreSQL works on the previous batch)."""

    data: str
    count: int
    seen: int
    # (time_msc, ticket) of the latest deal: where the cursor stands after this batch.
    last: tuple[int, int] | None


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if not isinstance(value, str):
        value = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return value.translate(_COPY_ESCAPES)


def deal_records_prepare(records: Iterable[tuple[dict[str, Any], str]]) -> PreparedDeals:
    """COPY lines (RECORD_FIELDS, then the deal's JSON text as sent) for each record; the
    same ticket twice keeps the last copy (one INSERT can't upsert a row twice)."""
    lines: dict[Any, str] = {}
    tabs = len(RECORD_FIELDS)
    last: tuple[int, int] | None = None
    seen = 0
    for record, text in records:
        seen += 1
        get = record.get
        values = [get(f) for f in RECORD_FIELDS]
        try:
            line = "\t".join(values) + "\t" + text  # type: ignore[arg-type]
        except TypeError:  # None or a non-string scalar: the careful way
            line = ""
        # Fast path: plain strings need no escaping (digits, symbols, JSON without escapes).
        if not line or line.count("\t") != tabs or "\\" in line or "\n" in line or "\r" in line:
            line = "\t".join(_copy_value(v) for v in [*values, text])
        lines[values[0]] = line
        position = record_position(record)
        if last is None or position > last:
            last = position
    return PreparedDeals(
        data="\n".join(lines.values()) + "\n" if lines else "",
        count=len(lines),
        seen=seen,
        last=last,
    )


def deal_records_store(
    *,
    server_id: int,
    prepared: PreparedDeals,
    zone: str,
    shift_hours: int,
    now: datetime | None = None,
) -> StoreResult:
    """deals_store for the server's own records (MT5 Web API deal fields, string scalars),
    prepared as COPY text by deal_records_prepare."""
    if not prepared.count:
        return StoreResult(seen=prepared.seen, inserted=0, updated=0, new_closing=[])
    quoted = ", ".join(f'"{c}"' for c in COLUMNS)
    changed = " OR ".join(f'd."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in CONTENT)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in CONTENT)
    with connection.cursor() as cursor:
        cursor.execute(_RECORDS_TABLE)
        cursor.execute("DELETE FROM _deal_records")
        with cursor.cursor.copy("COPY _deal_records FROM STDIN") as copy:
            copy.write(prepared.data)
        cursor.execute(
            f"""
            WITH merged AS (
                INSERT INTO clients_deal AS d ({quoted}, server_id, synced_at)
                SELECT {quoted}, %(server)s, %(now)s FROM ({_RECORDS_SELECT}) batch
                ON CONFLICT (server_id, ticket) DO UPDATE SET {updates},
                    synced_at = EXCLUDED.synced_at
                WHERE {changed}
                RETURNING d.ticket, d.action, d.entry, (xmax = 0) AS inserted
            )
            SELECT ticket, action, entry, inserted FROM merged
            """,  # noqa: S608 (column names are constants of this module)
            {"shift": shift_hours, "zone": zone, "server": server_id, "now": now or timezone.now()},
        )
        merged = cursor.fetchall()
    inserted = [r for r in merged if r[3]]
    return StoreResult(
        seen=prepared.seen,
        inserted=len(inserted),
        updated=len(merged) - len(inserted),
        new_closing=sorted(
            t
            for t, action, entry, _ in inserted
            if action in TRADE_ACTIONS and entry in CLOSING_ENTRIES
        ),
    )


def record_position(record: dict[str, Any]) -> tuple[int, int]:
    """(time_msc, ticket) of a server record: where a cursor stands after it."""
    msc = record.get("TimeMsc") or ""
    time_msc = int(msc) if str(msc).isdigit() else int(record["Time"]) * 1000
    return time_msc, int(record["Deal"])
