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


def deal_records_store(
    *,
    server_id: int,
    records: list[dict[str, Any]],
    zone: str,
    shift_hours: int,
    now: datetime | None = None,
) -> StoreResult:
    """deals_store for the server's own records (MT5 Web API deal fields, string scalars)."""
    if not records:
        return StoreResult(seen=0, inserted=0, updated=0, new_closing=[])
    seen = len(records)
    if len({r.get("Deal") for r in records}) != seen:
        # The same ticket twice (one INSERT can't upsert a row twice): keep the last copy.
        records = list({r.get("Deal"): r for r in records}.values())
    quoted = ", ".join(f'"{c}"' for c in COLUMNS)
    changed = " OR ".join(f'd."{c}" IS DISTINCT FROM EXCLUDED."{c}"' for c in CONTENT)
    updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in CONTENT)
    dumps = json.dumps
    with connection.cursor() as cursor:
        cursor.execute(_RECORDS_TABLE)
        cursor.execute("DELETE FROM _deal_records")
        fields = RECORD_FIELDS
        with cursor.cursor.copy("COPY _deal_records FROM STDIN") as copy:
            for record in records:
                copy.write_row([*(record.get(f) for f in fields), dumps(record)])
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
        seen=seen,
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
