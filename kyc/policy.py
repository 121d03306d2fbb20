"""May this client do X now? One answer, with the reason and what to do next.

Every money and account service asks `kyc_may` before it acts, and the portal shows the
client the same answer. The levels and their limits are the brokerage's to configure
(settings.KYC_POLICY); the defaults:

- level 0, registered: demo accounts only;
- level 1, identity verified: live accounts, deposits up to a lifetime limit, trading;
- level 2, identity + address + screening clear: withdrawals, no deposit limit.

An open AML case that freezes (a strong screening hit, a provider's sanctions label) stops
deposits, trading and transfers whatever the level; withdrawals stop with them, so money
can't leave while compliance decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings

from clients.models import Client
from kyc.models import AmlCase

Action = Literal[
    "open_demo_account",
    "open_live_account",
    "deposit",
    "withdraw",
    "trade",
    "transfer",
    "convert",
]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]

DEFAULT_POLICY: dict[str, dict[str, Any]] = {
    "open_demo_account": {"level": 0},
    "open_live_account": {"level": 1},
    # Level 1 may deposit up to this much in total (in limit_currency); level 2 has no limit.
    "deposit": {"level": 1, "limit": "2000", "limit_currency": "USD", "unlimited_level": 2},
    "withdraw": {"level": 2},
    "trade": {"level": 1},
    "transfer": {"level": 1},
    # Money already in the wallets came through a deposit, which needed level 1; only a
    # freeze stops a conversion.
    "convert": {"level": 0},
}
# Actions an open freezing AML case stops.
FROZEN_ACTIONS = {"deposit", "withdraw", "trade", "transfer", "convert", "open_live_account"}

LEVEL_NAMES = {
    0: "Registered",
    1: "Identity verified",
    2: "Fully verified",
}
NEXT_STEPS = {
    0: [
        "Upload a passport or national ID card (both sides for an ID card).",
        "Take a selfie holding the document.",
    ],
    1: [
        "Upload a proof of address dated within the last 3 months "
        "(a utility bill or bank statement).",
    ],
    2: [],
}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    action: str
    level: int
    required_level: int
    reason: str = ""
    next_steps: list[str] = field(default_factory=list)
    # For a limited action: how much is left before the limit (None: no limit).
    remaining: Decimal | None = None
    limit_currency: str = ""


def policy() -> dict[str, dict[str, Any]]:
    configured = getattr(settings, "KYC_POLICY", None) or {}
    return {action: {**DEFAULT_POLICY[action], **configured.get(action, {})} for action in ACTIONS}


def client_level(*, client: Client) -> int:
    case = getattr(client, "kyc_case", None)
    return case.level if case is not None else 0


def client_frozen(*, client: Client) -> bool:
    """An open AML case freezes the client: no deposits, trading, transfers or withdrawals."""
    return AmlCase.objects.filter(client=client, status="open", freezes=True).exists()


def _frozen(client: Client) -> bool:
    return client_frozen(client=client)


def _deposited(client: Client, currency: str) -> Decimal:
    """What the client has deposited in total, in `currency` (deposits in other currencies
    are converted at today's house rate; with no rate they count one for one, the cautious
    side for a limit denominated in a strong currency)."""
    from wallets.ledger.selectors import client_deposit_totals

    total = Decimal(0)
    for code, amount in client_deposit_totals(client=client).items():
        total += amount if code == currency else _convert(amount, code, currency)
    return total


def _convert(amount: Decimal, base: str, quote: str) -> Decimal:
    from wallets.models import FxRate

    rate = FxRate.objects.filter(base_id=base, quote_id=quote).values_list("rate", flat=True)
    return amount * rate[0] if rate else amount


def kyc_may(
    *, client: Client, action: str, amount: Decimal | None = None, currency: str = ""
) -> Verdict:
    """The one answer to "may this client do `action` now (for `amount` in `currency`)?"."""
    if action not in ACTIONS:
        raise ValueError(f"Unknown KYC action {action!r}; expected one of {', '.join(ACTIONS)}.")
    rule = policy()[action]
    level = client_level(client=client)
    required = int(rule["level"])
    steps = NEXT_STEPS.get(level, [])
    if action in FROZEN_ACTIONS and _frozen(client):
        return Verdict(
            allowed=False,
            action=action,
            level=level,
            required_level=required,
            reason=(
                f"{_label(action)} is on hold while our compliance team reviews your account. "
                "We will e-mail you when it is done; you don't need to do anything now."
            ),
        )
    if level < required:
        return Verdict(
            allowed=False,
            action=action,
            level=level,
            required_level=required,
            reason=(
                f"{_label(action)} needs {LEVEL_NAMES[required].lower()} status "
                f"(level {required}); you are at level {level}, "
                f"{LEVEL_NAMES[level].lower()}."
            ),
            next_steps=steps,
        )
    if "limit" in rule and level < int(rule.get("unlimited_level", 99)):
        limit = Decimal(str(rule["limit"]))
        limit_currency = str(rule["limit_currency"])
        remaining = max(limit - _deposited(client, limit_currency), Decimal(0))
        asked = Decimal(0)
        if amount is not None:
            asked = (
                amount
                if currency in ("", limit_currency)
                else (_convert(amount, currency, limit_currency))
            )
        if asked > remaining:
            return Verdict(
                allowed=False,
                action=action,
                level=level,
                required_level=required,
                reason=(
                    f"At level {level} you may deposit up to {limit:,} {limit_currency} in "
                    f"total; {remaining:,.2f} {limit_currency} is left. Complete full "
                    "verification to lift the limit."
                ),
                next_steps=steps,
                remaining=remaining,
                limit_currency=limit_currency,
            )
        return Verdict(
            allowed=True,
            action=action,
            level=level,
            required_level=required,
            remaining=remaining,
            limit_currency=limit_currency,
        )
    return Verdict(allowed=True, action=action, level=level, required_level=required)


def _label(action: str) -> str:
    return {
        "open_demo_account": "Opening a demo account",
        "open_live_account": "Opening a live account",
        "deposit": "Depositing",
        "withdraw": "Withdrawing",
        "trade": "Trading",
        "transfer": "Transferring",
        "convert": "Converting between your wallets",
    }[action]


def portal_summary(*, client: Client) -> list[Verdict]:
    """Each action's verdict, for the portal's verification page."""
    return [kyc_may(client=client, action=action) for action in ACTIONS]
