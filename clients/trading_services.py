"""Opening trading accounts and moving balance on them: the writes to a trading server.

Writes are never retried blind. A balance operation is a row first (unique op_ref), locked
while it is worked on; its op_ref rides in the MT5 deal comment, and whenever the outcome of
an earlier attempt is unknown (a timeout after sending) the server's deals are searched for
it before anything is sent again. So a reply lost after the server applied the operation
never applies it twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from clients.exceptions import ClientError
from clients.models import (
    BalanceOperation,
    Client,
    TradingAccount,
    TradingProduct,
    TradingServer,
)
from clients.sync import platform_for_server


@dataclass(frozen=True)
class OpenedAccount:
    account: TradingAccount
    # Shown to the trader once, never stored by us.
    password: str = field(repr=False)
    investor_password: str = field(repr=False)
    # A demo account's virtual balance, as a balance operation on the trading server.
    funding: BalanceOperation | None = None


def trading_account_open(
    *,
    client: Client,
    leverage: int,
    product: TradingProduct | None = None,
    server: TradingServer | None = None,
    group: str = "",
    currency: str = "USD",
    platform: Any = None,
) -> OpenedAccount:
    """Create the MT5 user (the KYC policy decides whether this client may) and mirror it.

    With a `product`, the server, group and currency are the product's, the leverage must be
    one it offers, and a demo product's virtual balance is credited on the trading server
    (a real balance operation, so the account's history shows it)."""
    from clients.platforms.base import NewAccount, generate_password
    from kyc.policy import kyc_may

    if product is not None:
        if not product.enabled:
            raise ClientError(f"The {product.name} account is not offered any more.")
        if leverage not in product.leverage_choices:
            raise ClientError(
                f"Choose a leverage offered for the {product.name} account: "
                f"{product.leverage_label}."
            )
        server, group, currency = product.server, product.group, product.currency
    if server is None or not group:
        raise ClientError("Choose an account type to open.")
    verdict = kyc_may(
        client=client, action="open_live_account" if server.is_live else "open_demo_account"
    )
    if not verdict.allowed:
        raise ClientError(verdict.reason)
    if not 1 <= leverage <= 500:
        raise ClientError("Leverage must be between 1:1 and 1:500.")
    password, investor = generate_password(12), generate_password(12)
    platform = platform or platform_for_server(server)
    user = client.user
    record = platform.create_account(
        NewAccount(
            group=group,
            name=user.get_full_name() or user.email,
            leverage=leverage,
            password_main=password,
            password_investor=investor,
            first_name=user.first_name,
            last_name=user.last_name,
            email=user.email,
            country=client.country,
            comment=f"CRM client {client.pk}",
        )
    )
    account = TradingAccount.objects.create(
        client=client,
        server=server,
        login=record.login,
        group=record.group or group,
        leverage=record.leverage or leverage,
        currency=currency,
        is_live=server.is_live,
        product=product,
    )
    funding = None
    if product is not None and not server.is_live and product.demo_balance > 0:
        funding = balance_operation_request(
            account=account, amount=product.demo_balance, comment="Demo funds"
        )
        # A lost reply leaves it UNKNOWN; clients.tasks.resolve_balance_ops looks it up later.
        funding = balance_operation_send(op=funding, platform=platform)
    return OpenedAccount(
        account=account, password=password, investor_password=investor, funding=funding
    )


def new_op_ref() -> str:
    return secrets.token_hex(8)  # 16 chars: "CRM#" + it fits MT5's 31-character comment


@transaction.atomic
def balance_operation_request(
    *, account: TradingAccount, amount: Decimal, kind: int = 2, comment: str = "", op_ref: str = ""
) -> BalanceOperation:
    """Record the intent (idempotent under op_ref); `balance_operation_send` carries it out."""
    if amount == 0:
        raise ClientError("A balance operation needs a non-zero amount.")
    op, created = BalanceOperation.objects.get_or_create(
        op_ref=op_ref or new_op_ref(),
        defaults={"account": account, "amount": amount, "kind": kind, "comment": comment[:31]},
    )
    if not created and (op.account_id, op.amount, op.kind) != (account.pk, amount, kind):
        raise ClientError(f"Operation {op.op_ref} was already recorded for another request.")
    return op


def balance_operation_send(*, op: BalanceOperation, platform: Any = None) -> BalanceOperation:
    """Carry out a recorded operation exactly once: look it up on the server first, then send
    if it is not there. A lost reply leaves it UNKNOWN; calling again resolves it.

    The row stays locked across the lookup and the send (specs/mt5-webapi.md §4): the two are
    not atomic on the server, and a second caller must not send in between."""
    from clients.platforms.base import (
        BalanceOp,
        OutcomeUnknown,
        PlatformError,
        Transient,
        balance_op_ensure,
    )

    with transaction.atomic():
        op = (
            BalanceOperation.objects.select_for_update()
            .select_related("account__server")
            .get(pk=op.pk)
        )
        if op.status in (BalanceOperation.Status.DONE, BalanceOperation.Status.REFUSED):
            return op
        platform = platform or platform_for_server(op.account.server)
        op.attempts += 1
        try:
            result = balance_op_ensure(
                platform,
                BalanceOp(
                    login=op.account.login,
                    kind=op.kind,
                    amount=op.amount,
                    op_ref=op.op_ref,
                    comment=op.comment,
                    check_margin=op.amount < 0,
                ),
                since=op.created_at,
            )
        except OutcomeUnknown as exc:
            op.status, op.error = BalanceOperation.Status.UNKNOWN, str(exc)[:2000]
        except Transient as exc:  # busy or timed out before applying: try again later
            op.error = f"{type(exc).__name__}: {exc}"
        except PlatformError as exc:
            op.status, op.error = BalanceOperation.Status.REFUSED, f"{type(exc).__name__}: {exc}"
        else:
            op.status, op.deal_ticket, op.done_at = (
                BalanceOperation.Status.DONE,
                result.deal_ticket,
                timezone.now(),
            )
            op.error = ""
        op.save()
        return op
