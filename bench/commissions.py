# ruff: noqa: S608  (SQL built from this module's own constants)
"""The IB commission run: BENCH_COMMISSION_DEALS closing deals (1,000,000) from 50,000
clients under a 5-level tree of 2,000 IBs, from deals to posted ledger entries.

Figure ``commissions.run``: deals/s of ``partners.commissions.services.commission_run_period``
over all the deals (temp tables, the lines of every level with their formula, keyed
(deal, IB, level), the payouts summed per IB and batch, one ledger batch per batch of
deals). Baseline, same run and database: a single ``INSERT ... SELECT`` computing a one-level
per-lot commission for the same deals (deal -> account -> attribution at deal time -> rate
of the symbol) into a table keyed (deal, IB): the floor of what PostgreSQL can do.

The tree: 10 master IBs, then 40, 150, 450 and 1,350 IBs below (each under one of the level
above), one differential plan per level whose per-lot rates fall with depth (so every level
of a chain earns), a per-deal cap; clients spread evenly over all IBs, so a deal pays about
4.5 levels. Everything runs in a database of its own (``bench_commissions``), dropped
afterwards. BENCH_COMMISSION_DEALS shortens a run (clients: deals / 20, at most 50,000).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench import line

DEALS = int(os.environ.get("BENCH_COMMISSION_DEALS", "1000000"))
CLIENTS = max(100, min(50_000, DEALS // 20))
LEVELS = (10, 40, 150, 450, 1350)  # 2,000 IBs
DB = "bench_commissions"
WORKERS = 2  # forked processes, each taking every other batch (services._run_forked)
BATCHES = 4  # batches of DEALS / 4 deals: two per worker
EMAIL_DOMAIN = "bench-commissions.invalid"
START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 20
SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "XAUUSD", "US30", "BTCUSD")
# Per-lot rates of the level-0 (master) plan per group; each level below earns 1.5 less.
GROUPS = (
    ("fx", "FX", "EURUSD, GBPUSD, USDJPY", Decimal(1), Decimal(10)),
    ("metals", "Metals", "XAU*, XAG*", Decimal(1), Decimal(12)),
    ("indices", "Indices", "US30, NAS100", Decimal("0.4"), Decimal(8)),
    ("crypto", "Crypto", "BTC*, ETH*", Decimal(1), Decimal(9)),
)


def log(text: str) -> None:
    print(f"bench.commissions: {text}", file=sys.stderr, flush=True)


def _load() -> None:
    """Users, IBs, the closure table, clients, accounts, attributions and the deals: a few
    set-based statements (generate_series), untimed."""
    from django.db import connection, transaction

    began = time.monotonic()
    ibs = sum(LEVELS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO brokerage_user (password, last_login, is_superuser, email, first_name,
                                   last_name, is_staff, is_active, date_joined)
               SELECT '!', NULL, false, 'u-' || g || '@' || %s, 'Bench', 'User ' || g,
                      false, true, now()
                 FROM generate_series(1, %s) g""",
            [EMAIL_DOMAIN, ibs + CLIENTS],
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # IB n (1-based) at level L; its parent is an IB of level L-1 (n modulo its size).
        offsets = [sum(LEVELS[:i]) for i in range(len(LEVELS))]
        cursor.execute("CREATE TEMP TABLE bench_ib (n int, level int, parent_n int)")
        for level, (size, offset) in enumerate(zip(LEVELS, offsets, strict=True)):
            parent = (
                "NULL" if level == 0 else f"{offsets[level - 1]} + 1 + (g % {LEVELS[level - 1]})"
            )
            cursor.execute(
                f"INSERT INTO bench_ib SELECT {offset} + 1 + g, {level}, {parent} "
                f"FROM generate_series(0, {size - 1}) g"
            )
        cursor.execute(
            """INSERT INTO partners_partner (user_id, name, status, parent_id, website,
                 promotion, applied_device, decision_reason, created_at)
               SELECT u.id, 'IB ' || b.n, 'approved', NULL, '', '', '', '', now()
                 FROM bench_ib b JOIN brokerage_user u ON u.email = 'u-' || b.n || '@' || %s
                ORDER BY b.n""",
            [EMAIL_DOMAIN],
        )
        cursor.execute(
            """CREATE TEMP TABLE bench_ibmap AS SELECT b.n, b.level, b.parent_n, p.id AS pid
                 FROM bench_ib b JOIN partners_partner p ON p.name = 'IB ' || b.n"""
        )
        cursor.execute(
            """UPDATE partners_partner p SET parent_id = q.pid FROM bench_ibmap c
                 JOIN bench_ibmap q ON q.n = c.parent_n WHERE p.id = c.pid"""
        )
        cursor.execute(
            """INSERT INTO partners_partnerpath (ancestor_id, descendant_id, depth)
               WITH RECURSIVE up AS (
                 SELECT pid AS descendant, pid AS ancestor, 0 AS depth, parent_n FROM bench_ibmap
                 UNION ALL
                 SELECT up.descendant, m.pid, up.depth + 1, m.parent_n
                   FROM up JOIN bench_ibmap m ON m.n = up.parent_n)
               SELECT ancestor, descendant, depth FROM up"""
        )
        cursor.execute(
            """INSERT INTO clients_client (status, country, phone, created_at, assigned_agent_id,
                                     user_id)
               SELECT 'active', 'GB', '', now(), NULL, u.id FROM brokerage_user u
                WHERE u.email LIKE %s AND u.id > (SELECT max(user_id) FROM partners_partner)
                ORDER BY u.id""",
            [f"%@{EMAIL_DOMAIN}"],
        )
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            """INSERT INTO clients_tradingserver (name, platform, url, manager_login,
                 password_sealed, is_live, verify_tls, clock_zone, clock_shift_hours, enabled,
                 created_at)
               VALUES ('bench', 'mt5_webapi', 'http://127.0.0.1:1', 1, '', true, true,
                       'UTC', 0, false, now()) RETURNING id"""
        )
        server = cursor.fetchone()[0]
        cursor.execute(
            """INSERT INTO clients_tradingaccount (client_id, server_id, login, "group",
                 leverage, currency, is_live, status, created_at)
               SELECT c.id, %s, 100000 + row_number() OVER (ORDER BY c.id), 'real', 100, 'USD',
                      true, 'active', now() FROM clients_client c""",
            [server],
        )
        # Clients spread evenly over the IBs (client i -> IB i mod 2,000).
        cursor.execute(
            """INSERT INTO partners_attribution (client_id, partner_id, source, valid_from,
                 valid_to, reason, created_by_id, created_at)
               SELECT a.client_id, m.pid, 'link', %s, NULL, '', NULL, now()
                 FROM clients_tradingaccount a JOIN bench_ibmap m ON m.n = 1 + (a.login %% %s)""",
            [START - timedelta(days=30), ibs],
        )
        symbols = "ARRAY[" + ", ".join(f"'{s}'" for s in SYMBOLS) + "]"
        cursor.execute(
            f"""INSERT INTO clients_deal (server_id, ticket, login, "order", position_id, action,
                 entry, reason, symbol, volume_ext, price, profit, swap, commission, fee, time,
                 time_msc, comment, external_id, unknown_action, raw, synced_at)
               SELECT %s, g, 100001 + (g %% %s), g, g, g %% 2, 1, 0,
                      ({symbols})[1 + (g %% {len(SYMBOLS)})],
                      (1 + (g %% 50)) * 1000000, 1.1, 0, 0, -(1 + g %% 7), 0,
                      %s + (g %% ({DAYS} * 86400)) * interval '1 second',
                      0, '', '', false, '{{}}', now()
                 FROM generate_series(1, %s) g""",
            [server, CLIENTS, START, DEALS],
        )
    with connection.cursor() as cursor:
        for table in (
            "clients_deal",
            "clients_tradingaccount",
            "partners_attribution",
            "partners_partnerpath",
            "partners_partner",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    log(
        f"loaded {ibs:,} IBs, {CLIENTS:,} clients, {DEALS:,} deals in {time.monotonic() - began:.1f}s"
    )


def _plans() -> None:
    from partners.commissions import services
    from partners.commissions.models import CommissionPlan, PlanAssignment, SymbolGroup
    from partners.models import Partner

    groups = {
        code: SymbolGroup.objects.create(code=code, name=name, patterns=patterns, lot_modifier=mod)
        for code, name, patterns, mod, _ in GROUPS
    }
    begin = START - timedelta(days=30)
    ids = list(Partner.objects.order_by("pk").values_list("pk", flat=True))
    offsets = [sum(LEVELS[:i]) for i in range(len(LEVELS))]
    assignments = []
    for level, (size, offset) in enumerate(zip(LEVELS, offsets, strict=True)):
        plan = services.plan_create(
            name=f"Level {level}",
            model=CommissionPlan.Model.DIFFERENTIAL,
            per_deal_cap=Decimal(500),
        )
        services.plan_version_new(
            plan=plan,
            valid_from=begin,
            rates=[
                {"group": groups[code], "per_lot": top - Decimal("1.5") * level}
                for code, _, _, _, top in GROUPS
            ],
        )
        assignments += [
            PlanAssignment(partner_id=pk, plan=plan, valid_from=begin, wallet_currency_id="USD")
            for pk in ids[offset : offset + size]
        ]
    PlanAssignment.objects.bulk_create(assignments)
    services.differential_check(at=begin)


BASELINE_SQL = """
INSERT INTO bench_baseline (deal_id, partner_id, amount)
SELECT d.id, at.partner_id, round(d.volume_ext::numeric / 100000000 * r.per_lot, 2)
FROM clients_deal d
JOIN clients_tradingaccount a ON a.server_id = d.server_id AND a.login = d.login
JOIN partners_attribution at ON at.client_id = a.client_id AND at.valid_from <= d.time
     AND (at.valid_to IS NULL OR d.time < at.valid_to)
JOIN bench_rate r ON r.symbol = d.symbol
WHERE d.time >= %s AND d.time < %s
ON CONFLICT (deal_id, partner_id) DO NOTHING
"""


def _baseline(start: datetime, end: datetime) -> tuple[float, int]:
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_baseline (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " deal_id bigint NOT NULL, partner_id bigint NOT NULL, amount numeric(20, 8) NOT NULL,"
            " UNIQUE (deal_id, partner_id))"
        )
        cursor.execute("CREATE TABLE bench_rate (symbol text PRIMARY KEY, per_lot numeric)")
        cursor.execute(
            "INSERT INTO bench_rate VALUES ('EURUSD', 10), ('GBPUSD', 10), ('USDJPY', 10), "
            "('XAUUSD', 12), ('US30', 3.2), ('BTCUSD', 9)"
        )
        cursor.execute("ANALYZE bench_rate")
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL, [start, end])
        rows = cursor.rowcount
    elapsed = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_baseline")
        cursor.execute("DROP TABLE bench_rate")
    return elapsed, rows


def _checkpoint() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def _measure() -> list[dict[str, Any]]:
    from django.db import connection
    from django.db.models import Sum

    from partners.commissions.models import CommissionLine, CommissionPayout
    from partners.commissions.services import commission_run_period
    from wallets.models import Entry, LedgerAccount

    _load()
    _plans()
    start, end = START, START + timedelta(days=DAYS)
    _checkpoint()
    base_s, base_rows = _baseline(start, end)
    log(
        f"baseline INSERT ... SELECT: {base_rows:,} rows in {base_s:.2f}s ({base_rows / base_s:,.0f}/s)"
    )
    _checkpoint()
    began = time.perf_counter()
    batch_size = -(-DEALS // BATCHES)
    run = commission_run_period(start=start, end=end, batch_size=batch_size, workers=WORKERS)
    run_s = time.perf_counter() - began
    log(
        f"commission run: {run.deals_seen:,} deals, {run.lines_created:,} lines, "
        f"{run.payouts:,} payouts in {run_s:.1f}s ({run.deals_seen / run_s:,.0f} deals/s)"
    )
    # The proof: lines sum to what the IB wallets received; a second run writes nothing.
    lines_total = CommissionLine.objects.aggregate(s=Sum("wallet_amount"))["s"]
    credited = Entry.objects.filter(
        account__kind=LedgerAccount.Kind.IB_WALLET, direction="C"
    ).aggregate(s=Sum("amount"))["s"]
    assert lines_total is not None and credited == int(lines_total * 100), (lines_total, credited)
    assert CommissionPayout.objects.filter(journal_id__isnull=True).count() == 0
    began = time.perf_counter()
    again = commission_run_period(start=start, end=end, batch_size=batch_size, workers=WORKERS)
    again_s = time.perf_counter() - began
    assert again.lines_created == 0, again.lines_created
    log(f"the same run again: {again_s:.1f}s, 0 lines")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('commissions_commissionline'))"
        )
        size = cursor.fetchone()[0]
    return [
        line(
            "commissions.run",
            value=run.deals_seen / run_s,
            unit="deals/s",
            baseline="one INSERT ... SELECT of a one-level per-lot commission for the same "
            "deals (deal -> account -> attribution -> rate), same run",
            baseline_value=base_rows / base_s,
            target_ratio=0.25,
            target_value=20_000,
            deals=run.deals_seen,
            lines_per_s=round(run.lines_created / run_s),
            lines=run.lines_created,
            payouts=run.payouts,
            rerun_s=round(again_s, 2),
            lines_table=size,
            tool=f"commission_run_period, {len(LEVELS)}-level tree of {sum(LEVELS):,} IBs, "
            f"{CLIENTS:,} clients, differential plans, {BATCHES} batches of {batch_size:,} deals "
            f"over {WORKERS} worker processes",
            host=f"{os.cpu_count()} CPUs, 1-min load average {os.getloadavg()[0]:.1f} at the end",
        )
    ]


def run() -> list[dict[str, Any]]:
    from django.conf import settings

    from bench.ledger import _ledger_database

    with _ledger_database(settings.DATABASES["default"]["NAME"], DB):
        return _measure()
