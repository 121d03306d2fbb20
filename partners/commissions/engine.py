# ruff: noqa: S608  (every SQL string here is built from this module's own constants)
"""The commission run, set-based: a batch of deals in, commission lines and IB payouts out.

No Python loop per deal. For one batch, in one transaction:

1. small temp tables: each IB's plan version in force over time with its rates per symbol
   group (`_cm_pvr`), the batch's symbols resolved to groups (`_cm_sym`), the batch's deals
   with the client's IB at deal time (`_cm_src`, `_cm_deal`);
2. deals whose symbol is in no group are flagged for staff (FlaggedDeal) and earn nothing;
3. one INSERT ... SELECT per model writes the lines: each deal joined to its IB's ancestors
   (the PartnerPath closure table), keyed (deal, IB, level). Deals that already have lines
   were left out in step 1 (NEW_ONLY), so a re-run writes nothing and the INSERT needs no
   ON CONFLICT (after a lost race with a concurrent run it is retried with one); the same
   statement sums what it wrote per IB and wallet currency into CommissionPayout rows. A
   differential line stores its formula's inputs, not its text (models.render_differential);
4. one ledger batch (ledger_transfer_many) pays those sums: commission_expense -> IB wallet,
   one posting per IB, currency and batch, keyed by them (the lines are the proof).

The amounts. An IB's *value* of a deal under its plan version, in the deal's symbol group:
    V = round(min((lots x modifier x per_lot + commission x pct_c% + spread x pct_s%) x tier,
                  per-deal cap), currency digits)
- differential: level k earns M(k) - M(k-1), M(k) = the largest V at levels 0..k, so the
  levels sum to the top value exactly (3 lots at 10/7/4 pay 12 + 9 + 9 = 30);
- cascade: the deal pays A = V of the client's own IB; level k keeps its claim
  round(A x c(k)) less what it passes up, round(A x c(k+1)), where c(k) is the product of
  the shares of the levels below; the top of the tree keeps its whole claim, so the levels
  sum to A exactly (5.00 at shares 20/10 pays 4.00 / 0.90 / 0.09 / 0.01).
Deal-level rules (counting event, minimum holding time) are those of the client's own IB's
plan. Tiers use the IB tree's volume in the previous calendar month.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from partners.commissions.exceptions import CommissionError

LINE_TABLE = "commissions_commissionline"

# The deals of a batch, with the client's IB at deal time.
SRC_SQL = """
CREATE TEMP TABLE _cm_src ON COMMIT DROP AS
SELECT d.id AS deal_id, d.server_id, d.login, d.position_id, d.entry, d.time, d.symbol,
       (d.volume_ext::numeric / 100000000)::numeric(20, 8) AS lots, abs(d.commission) AS commission,
       a.client_id, at.partner_id AS ib_id
FROM clients_deal d
JOIN clients_tradingaccount a ON a.server_id = d.server_id AND a.login = d.login
JOIN partners_attribution at ON at.client_id = a.client_id AND at.valid_from <= d.time
     AND (at.valid_to IS NULL OR d.time < at.valid_to)
WHERE ({where}) AND d.action IN (0, 1) AND d.entry IN (0, 1, 2, 3) AND d.volume_ext > 0
"""

# Each IB's plan version over time (assignment intervals x version intervals), per group.
PVR_SQL = """
CREATE TEMP TABLE _cm_pvr ON COMMIT DROP AS
WITH asg AS (
  SELECT partner_id, plan_id, wallet_currency_id AS wcur, valid_from AS f,
         coalesce(lead(valid_from) OVER (PARTITION BY partner_id ORDER BY valid_from),
                  'infinity'::timestamptz) AS t
  FROM commissions_planassignment
), ver AS (
  SELECT plan_id, id AS version_id, valid_from AS f,
         coalesce(lead(valid_from) OVER (PARTITION BY plan_id ORDER BY valid_from),
                  'infinity'::timestamptz) AS t
  FROM commissions_planversion
)
SELECT a.partner_id, v.version_id, a.wcur, greatest(a.f, v.f) AS f, least(a.t, v.t) AS t,
       pl.model, pl.counting_event AS event, pl.min_holding_seconds AS min_hold,
       pl.per_deal_cap AS cap, pl.currency_id AS cur, cu.exponent AS exp,
       g.id AS group_id,
       coalesce(o.per_lot, d.per_lot, 0) AS per_lot,
       coalesce(o.pct_commission, d.pct_commission, 0) AS pct_c,
       coalesce(o.pct_spread, d.pct_spread, 0) AS pct_s,
       CASE WHEN a.wcur = pl.currency_id THEN 1 ELSE fx.rate END AS fx, wc.exponent AS wexp
FROM asg a
JOIN ver v ON v.plan_id = a.plan_id AND v.f < a.t AND a.f < v.t
JOIN commissions_commissionplan pl ON pl.id = a.plan_id
JOIN wallets_currency cu ON cu.code = pl.currency_id
JOIN wallets_currency wc ON wc.code = a.wcur
CROSS JOIN commissions_symbolgroup g
LEFT JOIN commissions_planrate o
  ON o.version_id = v.version_id AND o.group_id = g.id AND o.partner_id = a.partner_id
LEFT JOIN commissions_planrate d
  ON d.version_id = v.version_id AND d.group_id = g.id AND d.partner_id IS NULL
LEFT JOIN wallets_fxrate fx ON fx.base_id = pl.currency_id AND fx.quote_id = a.wcur;
CREATE INDEX ON _cm_pvr (partner_id, group_id);
ANALYZE _cm_pvr;
CREATE TEMP TABLE _cm_asg ON COMMIT DROP AS
SELECT partner_id, wallet_currency_id AS wcur, valid_from AS f,
       coalesce(lead(valid_from) OVER (PARTITION BY partner_id ORDER BY valid_from),
                'infinity'::timestamptz) AS t
FROM commissions_planassignment;
ANALYZE _cm_asg;
CREATE TEMP TABLE _cm_top ON COMMIT DROP AS
SELECT descendant_id AS partner_id, max(depth) AS top FROM partners_partnerpath GROUP BY 1;
"""

# The batch's symbols, each in the group whose pattern matches (highest priority first).
SYM_SQL = r"""
CREATE TEMP TABLE _cm_sym ON COMMIT DROP AS
SELECT DISTINCT ON (s.symbol) s.symbol, g.id AS group_id, g.lot_modifier AS modifier,
       coalesce(m.markup_pips * m.pip_value, 0) AS markup_per_lot
FROM (SELECT DISTINCT symbol FROM _cm_src) s
LEFT JOIN commissions_symbolgroup g ON EXISTS (
  SELECT 1 FROM unnest(string_to_array(upper(replace(g.patterns, ' ', '')), ',')) AS p(pat)
  WHERE pat <> '' AND upper(s.symbol) LIKE replace(replace(pat, '_', '\_'), '*', '%'))
LEFT JOIN commissions_symbolmarkup m ON m.symbol = s.symbol
ORDER BY s.symbol, g.priority DESC NULLS LAST, g.id
"""

FLAG_SQL = """
WITH flagged AS (
  INSERT INTO commissions_flaggeddeal (deal_id, symbol, reason, run_id, created_at)
  SELECT s.deal_id, s.symbol, 'The symbol is in no symbol group: no commission', %(run)s, now()
  FROM _cm_src s JOIN _cm_sym y ON y.symbol = s.symbol AND y.group_id IS NULL
  ON CONFLICT (deal_id) DO NOTHING RETURNING 1
) SELECT count(*) FROM flagged
"""

# The batch's countable deals, with the client's own IB's plan (level 0).
DEAL_SQL = """
CREATE TEMP TABLE _cm_deal ON COMMIT DROP AS
SELECT s.deal_id, s.client_id, s.time, s.symbol, s.lots, s.commission, s.ib_id,
       y.group_id, y.modifier, s.lots * y.markup_per_lot AS spread,
       p.version_id AS l0_version, coalesce(p.model, 'differential') AS model,
       p.per_lot, p.pct_c, p.pct_s, p.cap, coalesce(p.cur, %(currency)s) AS cur,
       coalesce(p.exp, %(exponent)s) AS exp
FROM _cm_src s
JOIN _cm_sym y ON y.symbol = s.symbol AND y.group_id IS NOT NULL
LEFT JOIN _cm_pvr p ON p.partner_id = s.ib_id AND p.group_id = y.group_id
     AND s.time >= p.f AND s.time < p.t
WHERE {new_only}
  CASE coalesce(p.event, 'close') WHEN 'open' THEN s.entry IN (0, 2)
        WHEN 'close' THEN s.entry IN (1, 2, 3) ELSE true END
  AND CASE WHEN coalesce(p.min_hold, 0) = 0 OR s.entry = 0 THEN true
      ELSE NOT EXISTS (
        SELECT 1 FROM clients_deal o
        WHERE o.server_id = s.server_id AND o.login = s.login AND o.position_id = s.position_id
          AND s.position_id <> 0 AND o.entry = 0
          AND o.time > s.time - make_interval(secs => p.min_hold)) END
"""

# Previous calendar month per IB tree (only when some version has tiers).
STAT_SQL = """
CREATE TEMP TABLE _cm_stat ON COMMIT DROP AS
WITH months AS (SELECT DISTINCT date_trunc('month', time) AS m FROM _cm_deal)
SELECT pp.ancestor_id AS partner_id, m.m AS month,
       sum(d.volume_ext::numeric / 100000000) AS lots,
       sum(d.volume_ext::numeric / 100000000 * coalesce(g.contract_size, 100000) * d.price)
         AS usd,
       count(DISTINCT a.client_id) AS traders
FROM months m
JOIN clients_deal d ON d.time >= m.m - interval '1 month' AND d.time < m.m
     AND d.action IN (0, 1) AND d.entry IN (1, 2, 3)
JOIN clients_tradingaccount a ON a.server_id = d.server_id AND a.login = d.login
JOIN partners_attribution at ON at.client_id = a.client_id AND at.valid_from <= d.time
     AND (at.valid_to IS NULL OR d.time < at.valid_to)
JOIN partners_partnerpath pp ON pp.descendant_id = at.partner_id
LEFT JOIN _cm_sym y ON y.symbol = d.symbol
LEFT JOIN commissions_symbolgroup g ON g.id = y.group_id
GROUP BY 1, 2;
CREATE INDEX ON _cm_stat (partner_id, month);
"""

TIER_EXPR = """coalesce((
  SELECT max(t.multiplier) FROM commissions_volumetier t
  JOIN _cm_stat st ON st.partner_id = {partner} AND st.month = date_trunc('month', {time})
  WHERE t.version_id = {version} AND t.threshold <= CASE t.metric WHEN 'lots' THEN st.lots
        WHEN 'usd_volume' THEN st.usd ELSE st.traders END), 1)"""

VALUE_EXPR = (
    "round(least((c.lots * c.modifier * c.per_lot + c.commission * c.pct_c / 100"
    " + c.spread * c.pct_s / 100) * c.mult, c.cap), c.exp)"
)
INPUTS_TEXT = """trim_scale(c.lots) || ' lots × ' || trim_scale(c.modifier) || ' × '
  || trim_scale(c.per_lot) || '/lot'
  || CASE WHEN c.pct_c <> 0 THEN ' + ' || trim_scale(c.pct_c) || '%% of commission '
     || trim_scale(c.commission) ELSE '' END
  || CASE WHEN c.pct_s <> 0 THEN ' + ' || trim_scale(c.pct_s) || '%% of spread '
     || trim_scale(c.spread) ELSE '' END
  || CASE WHEN c.mult <> 1 THEN ', × tier ' || trim_scale(c.mult) ELSE '' END
  || CASE WHEN c.cap IS NOT NULL THEN ', capped at ' || trim_scale(c.cap) ELSE '' END"""

# The deals the real table already has lines for: the unique (deal, IB, level) index has the
# deal first, so this is one index probe per deal, and the INSERT below needs no ON CONFLICT.
NEW_ONLY = """NOT EXISTS (SELECT 1 FROM commissions_commissionline x
                 WHERE x.deal_id = s.deal_id AND x.kind = 'deal') AND"""
ON_CONFLICT = "ON CONFLICT (deal_id, partner_id, level) WHERE kind = 'deal' DO NOTHING"

# A differential line's formula, stored only by a dry run (a recompute's expected lines):
# the real lines store its inputs (INPUT_COLUMNS) and models.render_differential renders the
# same words from them.
DIFFERENTIAL_FORMULA = """'value ' || {inputs_l} || ' = ' || l.v
           || CASE WHEN l.top_v <> l.v THEN ' (the level below is higher: ' || l.top_v || ')'
              ELSE '' END
           || '; minus the level below''s ' || l.child_v || ' = ' || (l.top_v - l.child_v)
           || ' ' || l.cur"""
INPUT_COLUMNS = "per_lot, pct_commission, pct_spread, client_commission, spread, cap"

LINE_COLUMNS = (
    "kind, run_id, deal_id, client_id, partner_id, level, deal_time, plan_version_id, symbol, "
    "group_id, lots, modifier, tier_multiplier, rate, child_rate, amount, currency, fx_rate, "
    "wallet_amount, wallet_currency, formula, reason, created_at"
)

DIFFERENTIAL_SQL = """
WITH chain AS (
  SELECT d.deal_id, d.client_id, d.time, d.symbol, d.group_id, d.lots, d.modifier,
         d.commission, d.spread, d.cur, d.exp, pp.ancestor_id AS ib, pp.depth AS level,
         p.version_id, coalesce(p.per_lot, 0) AS per_lot, coalesce(p.pct_c, 0) AS pct_c,
         coalesce(p.pct_s, 0) AS pct_s, p.cap,
         coalesce(p.wcur, aw.wcur, d.cur) AS wcur,
         CASE WHEN coalesce(p.wcur, aw.wcur, d.cur) = d.cur THEN 1
              ELSE coalesce(p.fx, fx.rate) END AS fx,
         {mult} AS mult
  FROM _cm_deal d
  JOIN partners_partnerpath pp ON pp.descendant_id = d.ib_id
  LEFT JOIN _cm_pvr p ON p.partner_id = pp.ancestor_id AND p.group_id = d.group_id
       AND d.time >= p.f AND d.time < p.t
  LEFT JOIN _cm_asg aw ON p.partner_id IS NULL AND aw.partner_id = pp.ancestor_id
       AND d.time >= aw.f AND d.time < aw.t
  LEFT JOIN wallets_fxrate fx ON fx.base_id = d.cur AND fx.quote_id = aw.wcur
  WHERE d.model = 'differential'
), valued AS (
  SELECT c.*, coalesce({value}, 0) AS v FROM chain c
), lagged AS (
  SELECT v2.*, max(v) OVER w AS top_v, coalesce(max(v) OVER below, 0) AS child_v
  FROM valued v2
  WINDOW w AS (PARTITION BY deal_id ORDER BY level ROWS UNBOUNDED PRECEDING),
         below AS (PARTITION BY deal_id ORDER BY level
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), ins AS (
  INSERT INTO {table} ({columns}, {input_columns})
  SELECT %(kind)s, %(run)s, l.deal_id, l.client_id, l.ib, l.level, l.time, l.version_id,
         l.symbol, l.group_id, l.lots, l.modifier, l.mult, l.top_v, l.child_v,
         l.top_v - l.child_v, l.cur, l.fx, round((l.top_v - l.child_v) * l.fx, wc.exponent),
         l.wcur, {formula}, '', now(),
         l.per_lot, nullif(l.pct_c, 0), nullif(l.pct_s, 0),
         CASE WHEN l.pct_c <> 0 THEN l.commission END, CASE WHEN l.pct_s <> 0 THEN l.spread END,
         l.cap
  FROM lagged l JOIN wallets_currency wc ON wc.code = l.wcur
  WHERE l.top_v - l.child_v > 0
  {on_conflict}
  RETURNING partner_id, wallet_currency, wallet_amount, fx_rate
)
"""

CASCADE_SQL = """
WITH base AS (
  SELECT d.*, {mult} AS mult FROM _cm_deal d WHERE d.model = 'cascade'
), valued AS (
  SELECT c.*, {value} AS a, {inputs} AS inputs FROM base c
), chain AS (
  SELECT v.*, pp.ancestor_id AS ib, pp.depth AS level, top.top,
         s0.cum AS cum_k, s0.share, s1.cum AS cum_next,
         coalesce(aw.wcur, v.cur) AS wcur,
         CASE WHEN coalesce(aw.wcur, v.cur) = v.cur THEN 1 ELSE fx.rate END AS fx
  FROM valued v
  JOIN partners_partnerpath pp ON pp.descendant_id = v.ib_id
  JOIN _cm_top top ON top.partner_id = v.ib_id
  JOIN _cm_cum s0 ON s0.version_id = v.l0_version AND s0.level = pp.depth
  JOIN _cm_cum s1 ON s1.version_id = v.l0_version AND s1.level = pp.depth + 1
  LEFT JOIN _cm_asg aw ON aw.partner_id = pp.ancestor_id AND v.time >= aw.f AND v.time < aw.t
  LEFT JOIN wallets_fxrate fx ON fx.base_id = v.cur AND fx.quote_id = aw.wcur
), amounts AS (
  SELECT c.*, round(c.a * c.cum_k, c.exp) AS claim,
         CASE WHEN c.level = c.top THEN 0 ELSE round(c.a * c.cum_next, c.exp) END AS passed
  FROM chain c
), ins AS (
  INSERT INTO {table} ({columns})
  SELECT %(kind)s, %(run)s, m.deal_id, m.client_id, m.ib, m.level, m.time, m.l0_version,
         m.symbol, m.group_id, m.lots, m.modifier, m.mult, m.claim, m.passed,
         m.claim - m.passed, m.cur, m.fx, round((m.claim - m.passed) * m.fx, wc.exponent),
         m.wcur,
         'deal pays ' || m.inputs || ' = ' || m.a || '; level ' || m.level || ' claims '
           || m.claim || CASE WHEN m.level = m.top THEN ' and keeps it all (top of the tree)'
              ELSE ', passes ' || trim_scale(m.share) || '%% up (' || m.passed || ')' END
           || ' = ' || (m.claim - m.passed) || ' ' || m.cur,
         '', now()
  FROM amounts m JOIN wallets_currency wc ON wc.code = m.wcur
  WHERE m.claim - m.passed > 0
  {on_conflict}
  RETURNING partner_id, wallet_currency, wallet_amount, fx_rate
)
"""

PAYOUT_TAIL = """
INSERT INTO commissions_commissionpayout (run_id, batch, partner_id, currency, amount, lines)
SELECT %(run)s, %(batch)s, partner_id, wallet_currency, sum(wallet_amount), count(*)
FROM ins GROUP BY partner_id, wallet_currency
ON CONFLICT (run_id, batch, partner_id, currency) DO UPDATE
SET amount = commissions_commissionpayout.amount + excluded.amount,
    lines = commissions_commissionpayout.lines + excluded.lines
"""
COUNT_TAIL = "SELECT count(*) FROM ins"


@dataclass(frozen=True)
class BatchResult:
    deals_seen: int
    deals_flagged: int
    lines: int


def _cum_table(max_depth: int = 32) -> None:
    """_cm_cum(version, level, share, cum): cum = product of the shares of levels below
    `level` (cascade versions only; the last share given repeats)."""
    from partners.commissions.models import CascadeShare

    shares: dict[int, dict[int, Decimal]] = {}
    for version_id, level, pct in CascadeShare.objects.values_list(
        "version_id", "level", "share_pct"
    ):
        shares.setdefault(version_id, {})[level] = pct / 100
    rows: list[tuple[int, int, Decimal, Decimal]] = []
    for version_id, by_level in shares.items():
        cum, last = Decimal(1), Decimal(0)
        for level in range(max_depth + 2):
            share = by_level.get(level, last)
            rows.append((version_id, level, share * 100, cum))
            cum *= share
            last = share
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE _cm_cum (version_id bigint, level int, share numeric, "
            "cum numeric) ON COMMIT DROP"
        )
        if rows:
            cursor.executemany("INSERT INTO _cm_cum VALUES (%s, %s, %s, %s)", rows)
        cursor.execute("ANALYZE _cm_cum")


def _check_fx() -> None:
    """Every IB wallet in another currency than its plan's needs a recorded FX rate."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT DISTINCT p.currency_id, a.wallet_currency_id
            FROM commissions_planassignment a JOIN commissions_commissionplan p ON p.id = a.plan_id
            LEFT JOIN wallets_fxrate fx ON fx.base_id = p.currency_id
                 AND fx.quote_id = a.wallet_currency_id
            WHERE p.currency_id <> a.wallet_currency_id AND fx.id IS NULL"""
        )
        missing = cursor.fetchall()
    if missing:
        pairs = ", ".join(f"{base}->{quote}" for base, quote in missing)
        raise CommissionError(f"No FX rate is recorded for {pairs}: add it before the run.")


def _has_tiers() -> bool:
    from partners.commissions.models import VolumeTier

    return VolumeTier.objects.exists()


def compute_lines(
    *,
    where: str,
    params: dict[str, Any],
    run_id: int,
    batch: int = 0,
    table: str = LINE_TABLE,
    currency: str = "USD",
    on_conflict: bool = False,
) -> BatchResult:
    """Compute (and, into the real table, record payouts for) the lines of the deals that
    `where` (SQL over `d`, clients_deal) selects. Call inside transaction.atomic().

    Into the real table, a deal that already has lines is left out before anything is
    computed (NEW_ONLY), so the lines are plain INSERTs: no speculative insertion per line.
    The unique (deal, IB, level) index still stands: if a concurrent run commits lines of the
    same deals first, this INSERT fails with a unique violation and the caller retries the
    batch with `on_conflict=True` (ON CONFLICT DO NOTHING, as a re-run always did)."""
    from wallets.ledger.services import currency_exponent

    _check_fx()
    tiers = _has_tiers()
    args = {**params, "run": run_id, "batch": batch, "kind": "deal", "currency": currency}
    args["exponent"] = currency_exponent(currency)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute(SRC_SQL.format(where=where), args)
        cursor.execute("ANALYZE _cm_src")
        cursor.execute(PVR_SQL)
        cursor.execute(SYM_SQL)
        flagged = 0
        if table == LINE_TABLE:
            cursor.execute(FLAG_SQL, args)
            flagged = cursor.fetchone()[0]
        new_only = NEW_ONLY if table == LINE_TABLE else ""
        cursor.execute(DEAL_SQL.format(new_only=new_only), args)
        cursor.execute("SELECT count(*) FROM _cm_src")
        seen = cursor.fetchone()[0]
        cursor.execute("ANALYZE _cm_deal")
        if tiers:
            cursor.execute(STAT_SQL)
        _cum_table()
        tail = PAYOUT_TAIL if table == LINE_TABLE else COUNT_TAIL
        lines = 0
        for template, partner, version in (
            (DIFFERENTIAL_SQL, "pp.ancestor_id", "p.version_id"),
            (CASCADE_SQL, "d.ib_id", "d.l0_version"),
        ):
            mult = TIER_EXPR.format(partner=partner, time="d.time", version=version)
            sql = template.format(
                table=table,
                columns=LINE_COLUMNS,
                mult=mult if tiers else "1::numeric",
                value=VALUE_EXPR,
                inputs=INPUTS_TEXT,
                formula="''"
                if table == LINE_TABLE
                else DIFFERENTIAL_FORMULA.format(inputs_l=INPUTS_TEXT.replace("c.", "l.")),
                input_columns=INPUT_COLUMNS,
                on_conflict=ON_CONFLICT if on_conflict or table != LINE_TABLE else "",
            )
            cursor.execute(sql + tail, args)
            if table != LINE_TABLE:
                lines += cursor.fetchone()[0]
        if table == LINE_TABLE:
            cursor.execute(
                "SELECT coalesce(sum(lines), 0) FROM commissions_commissionpayout "
                "WHERE run_id = %(run)s AND batch = %(batch)s",
                args,
            )
            lines = cursor.fetchone()[0]
        for temp in ("_cm_src", "_cm_pvr", "_cm_asg", "_cm_top", "_cm_sym", "_cm_deal", "_cm_cum"):
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute("DROP TABLE IF EXISTS _cm_stat")
    return BatchResult(deals_seen=seen, deals_flagged=flagged, lines=int(lines))
