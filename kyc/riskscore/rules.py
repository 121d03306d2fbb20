"""Behaviour rules (red flags per FINRA Regulatory Notice 19-18, numbered as in the spec).

Each rule reads money movements through kyc.riskscore.flows (the ledger is only read) and
writes MonitoringAlert rows. A rule is idempotent: every alert has a dedupe key made from what
caused it (a journal id, an identifier and a client), so a rerun over the same window
creates nothing new. Each returns the number of alerts it created.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from axes.models import AccessLog
from django.db import IntegrityError, transaction
from django.utils import timezone

from brokerage.models import User
from kyc.riskscore import flows
from kyc.riskscore.conf import conf
from kyc.riskscore.models import MonitoringAlert

Rule = MonitoringAlert.Rule


def _raise(
    *,
    rule: str,
    client_id: int,
    dedupe_key: str,
    window: tuple[datetime, datetime],
    summary: str,
    evidence: dict[str, Any],
    amount: Decimal | None = None,
    currency: str = "",
) -> bool:
    """Create the alert unless its key exists (a rerun, or a concurrent run). True if new."""
    if MonitoringAlert.objects.filter(dedupe_key=dedupe_key).exists():
        return False
    try:
        with transaction.atomic():
            MonitoringAlert.objects.create(
                rule=rule,
                client_id=client_id,
                dedupe_key=dedupe_key,
                window_start=window[0],
                window_end=window[1],
                summary=summary[:300],
                evidence=evidence,
                amount=amount,
                currency=currency,
            )
    except IntegrityError:  # another run created it between the check and the insert
        return False
    return True


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,} {currency}"


# --- R1: deposit, then withdraw without trading ----------------------------------------------


def rule_r1_deposit_withdraw(*, now: datetime | None = None) -> int:
    """A withdrawal of at least `withdrawal_ratio` of what the client deposited in the
    `window_days` before it, with no trading in between.

    Limitation: the spec's test is "fewer than 5 closed trades or traded notional below 2x
    the deposit", but deals are not recorded yet. Until they are, trading means moving money
    from the wallet to a trading-account mirror (fewer than `min_trading_transfers` such
    moves in the window counts as no trading)."""
    cfg = conf("KYC_RISK_R1")
    now = now or timezone.now()
    window = timedelta(days=cfg["window_days"])
    since = now - timedelta(days=cfg["lookback_days"])
    withdrawals = flows.client_movements(since=since, until=now, kinds=[flows.WITHDRAWAL])
    if not withdrawals:
        return 0
    history = flows.client_movements(
        since=since - window,
        until=now,
        client_ids={w.client_id for w in withdrawals},
        kinds=[flows.DEPOSIT, flows.TO_TRADING],
    )
    created = 0
    for w in withdrawals:
        start = w.at - window
        earlier = [
            m
            for m in history
            if m.client_id == w.client_id and m.currency == w.currency and start <= m.at <= w.at
        ]
        deposits = [m for m in earlier if m.kind == flows.DEPOSIT]
        trading = [m for m in earlier if m.kind == flows.TO_TRADING]
        deposited = sum((d.amount for d in deposits), Decimal(0))
        if not deposits or len(trading) >= cfg["min_trading_transfers"]:
            continue
        ratio = w.amount / deposited
        if ratio < cfg["withdrawal_ratio"]:
            continue
        created += _raise(
            rule=Rule.R1,
            client_id=w.client_id,
            dedupe_key=f"R1:journal:{w.journal_id}",
            window=(min(d.at for d in deposits), w.at),
            amount=w.amount,
            currency=w.currency,
            summary=(
                f"Withdrew {_money(w.amount, w.currency)}, {ratio:.0%} of the "
                f"{_money(deposited, w.currency)} deposited in the {cfg['window_days']} days "
                "before, without funding a trading account"
            ),
            evidence={
                "withdrawal": {"journal_id": w.journal_id, "amount": str(w.amount)},
                "deposits": [
                    {"journal_id": d.journal_id, "amount": str(d.amount), "at": d.at.isoformat()}
                    for d in deposits
                ],
                "deposited": str(deposited),
                "ratio": str(ratio.quantize(Decimal("0.0001"))),
                "trading_transfers": len(trading),
                "limitation": "no deal data yet: trading = transfers to trading accounts",
            },
        )
    return created


# --- R2: structuring ---------------------------------------------------------------------------


def rule_r2_structuring(*, now: datetime | None = None) -> int:
    """`min_deposits` or more deposits within `window_days`, each between `lower` and
    `upper` of the currency's reporting threshold (e.g. 9,500 USD against 10,000).

    A deposit is evidence of at most one R2 alert, so reruns over overlapping windows add
    nothing; new near-threshold deposits need `min_deposits` fresh ones to alert again."""
    cfg = conf("KYC_RISK_R2")
    thresholds: dict[str, Decimal] = {k: Decimal(v) for k, v in cfg["thresholds"].items()}
    now = now or timezone.now()
    window = timedelta(days=cfg["window_days"])
    deposits = flows.client_movements(
        since=now - timedelta(days=cfg["lookback_days"]), until=now, kinds=[flows.DEPOSIT]
    )
    near: dict[tuple[int, str], list[flows.Movement]] = defaultdict(list)
    for d in deposits:
        threshold = thresholds.get(d.currency)
        if threshold and threshold * cfg["lower"] <= d.amount <= threshold * cfg["upper"]:
            near[(d.client_id, d.currency)].append(d)
    created = 0
    for (client_id, currency), items in near.items():
        claimed = _claimed_journals(rule=Rule.R2, client_id=client_id)
        free = [d for d in items if d.journal_id not in claimed]
        i = 0
        while i < len(free):
            cluster = [d for d in free[i:] if d.at - free[i].at <= window]
            if len(cluster) < cfg["min_deposits"]:
                i += 1
                continue
            total = sum((d.amount for d in cluster), Decimal(0))
            threshold = thresholds[currency]
            created += _raise(
                rule=Rule.R2,
                client_id=client_id,
                dedupe_key=f"R2:journal:{cluster[0].journal_id}",
                window=(cluster[0].at, cluster[-1].at),
                amount=total,
                currency=currency,
                summary=(
                    f"{len(cluster)} deposits in {cfg['window_days']} days, each just under the "
                    f"{_money(threshold, currency)} threshold ({_money(total, currency)} in all)"
                ),
                evidence={
                    "threshold": str(threshold),
                    "band": [str(cfg["lower"]), str(cfg["upper"])],
                    "journal_ids": [d.journal_id for d in cluster],
                    "deposits": [
                        {
                            "journal_id": d.journal_id,
                            "amount": str(d.amount),
                            "at": d.at.isoformat(),
                        }
                        for d in cluster
                    ],
                },
            )
            i += len(cluster)
    return created


def _claimed_journals(*, rule: str, client_id: int) -> set[int]:
    claimed: set[int] = set()
    for evidence in MonitoringAlert.objects.filter(rule=rule, client_id=client_id).values_list(
        "evidence", flat=True
    ):
        claimed.update(evidence.get("journal_ids", []))
    return claimed


# --- R4: identifiers shared across clients -----------------------------------------------------


@dataclass(frozen=True)
class Sighting:
    """One client seen with one identifier: a login IP today; a device id, a card
    fingerprint or an IBAN once the payment and device data exist."""

    kind: str  # "ip", "device", "card", "iban"
    value: str
    client_id: int
    seen_at: datetime


def login_ip_sightings(*, since: datetime) -> list[Sighting]:
    """Successful logins from django-axes' access log (username = the user's e-mail).
    Loopback and unspecified addresses say nothing about who shares a network."""
    logs = AccessLog.objects.filter(attempt_time__gte=since, ip_address__isnull=False).values_list(
        "username", "ip_address", "attempt_time"
    )
    rows = list(logs)
    emails = {u.lower() for u, _, _ in rows if u}
    clients = dict(
        User.objects.filter(email__in=emails, client__isnull=False).values_list(
            "email", "client__id"
        )
    )
    sightings = []
    for username, ip, at in rows:
        client_id = clients.get((username or "").lower())
        if client_id is None:
            continue
        address = ipaddress.ip_address(ip)
        if address.is_loopback or address.is_unspecified:
            continue
        sightings.append(Sighting("ip", str(address), client_id, at))
    return sightings


def rule_r4_shared_identifiers(
    *, now: datetime | None = None, sightings: Iterable[Sighting] | None = None
) -> int:
    """The same identifier used by two or more clients: one alert per client and identifier,
    naming the others. `sightings` defaults to the login IPs of the lookback window; IBAN,
    card and device sightings can be passed in (no such data is recorded yet)."""
    cfg = conf("KYC_RISK_R4")
    now = now or timezone.now()
    since = now - timedelta(days=cfg["lookback_days"])
    if sightings is None:
        sightings = login_ip_sightings(since=since)
    seen: dict[tuple[str, str], dict[int, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for s in sightings:
        seen[(s.kind, s.value)][s.client_id].append(s.seen_at)
    created = 0
    for (kind, value), by_client in seen.items():
        if len(by_client) < 2:
            continue
        digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]
        # An IP is shown as is; a card or IBAN only by its last four characters.
        shown = value if kind in ("ip", "device") else f"…{value[-4:]}"
        for client_id, times in sorted(by_client.items()):
            others = sorted(c for c in by_client if c != client_id)
            created += _raise(
                rule=Rule.R4,
                client_id=client_id,
                dedupe_key=f"R4:{kind}:{digest}:client:{client_id}",
                window=(min(times), max(times)),
                summary=(
                    f"Same {kind} {shown} as {len(others)} other client"
                    f"{'' if len(others) == 1 else 's'}"
                ),
                evidence={"kind": kind, "value": shown, "other_client_ids": others},
            )
    return created


# --- R7: dormant account suddenly funded -------------------------------------------------------


def rule_r7_dormant_funded(*, now: datetime | None = None) -> int:
    """A deposit of at least the currency's `min_amounts` after `dormant_days` or more with
    no posted movement on any of the client's accounts. A first-ever deposit is not
    dormancy (nothing moved before)."""
    cfg = conf("KYC_RISK_R7")
    minimums: dict[str, Decimal] = {k: Decimal(v) for k, v in cfg["min_amounts"].items()}
    now = now or timezone.now()
    deposits = flows.client_movements(
        since=now - timedelta(days=cfg["lookback_days"]), until=now, kinds=[flows.DEPOSIT]
    )
    created = 0
    for d in deposits:
        minimum = minimums.get(d.currency)
        if minimum is None or d.amount < minimum:
            continue
        last = flows.last_movement_before(client_id=d.client_id, before=d.at)
        if last is None or d.at - last < timedelta(days=cfg["dormant_days"]):
            continue
        idle = (d.at - last).days
        created += _raise(
            rule=Rule.R7,
            client_id=d.client_id,
            dedupe_key=f"R7:journal:{d.journal_id}",
            window=(last, d.at),
            amount=d.amount,
            currency=d.currency,
            summary=f"Deposited {_money(d.amount, d.currency)} after {idle} days without movement",
            evidence={
                "journal_id": d.journal_id,
                "amount": str(d.amount),
                "last_movement_at": last.isoformat(),
                "idle_days": idle,
            },
        )
    return created


RULES = {
    "R1": rule_r1_deposit_withdraw,
    "R2": rule_r2_structuring,
    "R4": rule_r4_shared_identifiers,
    "R7": rule_r7_dormant_funded,
}
