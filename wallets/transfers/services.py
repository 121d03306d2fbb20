"""Moving a client's money between their wallet and their live trading accounts.

The order of events is the point (ARCHITECTURE.md, flow 2):

- wallet -> account: hold wallet -> mirror (ledger), then the balance operation on the
  trading server (a Celery task on the `platform` queue, outside any DB transaction), then
  post the hold when the server confirms, or void it when the server refuses;
- account -> wallet: the server first (a negative balance operation with its margin check),
  and only when it confirms, mirror -> wallet in the ledger;
- a lost reply (UNKNOWN) is left alone; `transfers_resolve` (beat) calls
  `balance_operation_send` again, which looks the operation up on the server before it would
  send anything, so an operation the server applied is never applied twice.

Idempotency: the confirmation form carries a signed token made when the confirmation was
shown; its key names the transfer, the hold and the balance operation, so a double submit
(or two racing submits) finds the first transfer.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from brokerage.models import User
from clients.exceptions import ClientError
from clients.models import BalanceOperation, Client, TradingAccount
from clients.notices import notify
from clients.sync import platform_for_server
from clients.trading_services import balance_operation_request, balance_operation_send
from wallets.ledger import exceptions as ledger_errors
from wallets.ledger.services import (
    Leg,
    ledger_hold,
    ledger_post_pending,
    ledger_transfer,
    ledger_void_pending,
    to_minor,
    trading_mirror_for_account,
    wallet_for_client,
)
from wallets.models import Journal
from wallets.money import money_text
from wallets.selectors import wallet_available
from wallets.transfers.exceptions import TransferError
from wallets.transfers.models import Transfer

log = logging.getLogger(__name__)

SOURCE = "transfer"
TOKEN_SALT = "wallets.transfers.confirm"  # noqa: S105 - a signing salt, not a secret
# A confirmation holds this long; after it the client checks the figures again.
TOKEN_MAX_AGE = 600
# The resolver leaves a transfer this long to its own task before it steps in.
RESOLVE_AFTER = timedelta(seconds=30)

Direction = Transfer.Direction
Status = Transfer.Status


@dataclass(frozen=True)
class Offer:
    """A transfer as the client will confirm it."""

    direction: str
    account: TradingAccount
    amount: Decimal
    currency: str

    @property
    def sentence(self) -> str:
        where = f"MT5 #{self.account.login}"
        source, target = (
            ("Wallet", where) if self.direction == Direction.TO_ACCOUNT else (where, "Wallet")
        )
        return f"Transfer {money_text(self.amount, self.currency)} from {source} to {target}"


# --- validation ---------------------------------------------------------------------------


def _account_for_client(*, client: Client, account_id: int) -> TradingAccount:
    account = (
        TradingAccount.objects.select_related("server", "product")
        .filter(pk=account_id, client=client, is_live=True, status=TradingAccount.Status.ACTIVE)
        .first()
    )
    if account is None:
        raise TransferError("Choose one of your live trading accounts.", field="account")
    return account


def _check_amount(amount: Decimal, currency: str) -> None:
    try:
        to_minor(amount, currency)
    except ledger_errors.InvalidAmount as exc:
        if amount <= 0:
            raise TransferError("The amount must be greater than zero.", field="amount") from None
        raise TransferError(exc.message, field="amount") from None


def _check_kyc(client: Client) -> None:
    from kyc.policy import kyc_may  # kyc reads the ledger too: imported when used

    verdict = kyc_may(client=client, action="transfer")
    if not verdict.allowed:
        raise TransferError(verdict.reason)


def _free_margin(account: TradingAccount, platform: Any = None) -> Decimal:
    """What the server says can leave the account right now (never our cached snapshot)."""
    from clients.platforms.base import PlatformError

    platform = platform or platform_for_server(account.server)
    try:
        state = platform.get_account_state(account.login)
    except PlatformError as exc:
        log.warning("transfers: account state of %s unavailable: %s", account, exc)
        raise TransferError(
            f"We can't reach the trading server of MT5 #{account.login} right now, so we "
            "can't check its free margin. Nothing was moved; try again in a few minutes."
        ) from None
    return max(state.margin_free, Decimal(0))


def _has_funded(account: TradingAccount) -> bool:
    return Transfer.objects.filter(
        account=account, direction=Direction.TO_ACCOUNT, status=Status.DONE
    ).exists()


def transfer_offer(
    *,
    client: Client,
    direction: str,
    account_id: int,
    amount: Decimal,
    platform: Any = None,
) -> Offer:
    """Check a transfer the client asks for, without moving anything. The free margin of an
    account -> wallet transfer is asked of the trading server now (I/O: no transaction)."""
    account = _account_for_client(client=client, account_id=account_id)
    currency = account.currency
    _check_amount(amount, currency)
    _check_kyc(client)
    where = f"MT5 #{account.login}"
    if direction == Direction.TO_ACCOUNT:
        available = wallet_available(client=client, currency=currency)
        if amount > available:
            raise TransferError(
                f"You have {money_text(available, currency)} available in your {currency} "
                f"wallet. {where} is in {currency}: deposit or convert first, or transfer less.",
                field="amount",
            )
        product = account.product
        if product is not None and product.min_deposit > amount and not _has_funded(account):
            raise TransferError(
                f"The first transfer to a {product.name} account must be at least "
                f"{money_text(product.min_deposit.normalize(), currency)}.",
                field="amount",
            )
    elif direction == Direction.TO_WALLET:
        free = _free_margin(account, platform)
        if amount > free:
            raise TransferError(
                f"{where} has {money_text(free, currency)} of free margin now; you can "
                "transfer at most that. Close positions or transfer less.",
                field="amount",
            )
    else:
        raise TransferError("Choose where the money goes.", field="direction")
    return Offer(direction=direction, account=account, amount=amount, currency=currency)


# --- confirmation token -------------------------------------------------------------------


def transfer_token_sign(*, client: Client, offer: Offer) -> str:
    payload = {
        "key": uuid.uuid4().hex,
        "client": client.pk,
        "direction": offer.direction,
        "account": offer.account.pk,
        "amount": str(offer.amount),
    }
    return signing.dumps(payload, salt=TOKEN_SALT, compress=True)


def _token_read(*, client: Client, token: str) -> dict[str, Any]:
    try:
        payload: dict[str, Any] = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise TransferError(
            "This confirmation has expired (they hold for ten minutes). Check the figures "
            "below and confirm again."
        ) from None
    except signing.BadSignature:
        raise TransferError("This confirmation is not valid. Start the transfer again.") from None
    if payload.get("client") != client.pk:
        raise TransferError("This confirmation is not valid. Start the transfer again.")
    return payload


# --- the transfer -------------------------------------------------------------------------


def transfer_submit(
    *, client: Client, token: str, actor: User | None = None, platform: Any = None
) -> tuple[Transfer, bool]:
    """Start the confirmed transfer, once per token. Returns (transfer, created)."""
    payload = _token_read(client=client, token=token)
    key = str(payload["key"])
    existing = Transfer.objects.filter(client=client, key=key).first()
    if existing is not None:
        return existing, False
    offer = transfer_offer(
        client=client,
        direction=str(payload["direction"]),
        account_id=int(payload["account"]),
        amount=Decimal(payload["amount"]),
        platform=platform,
    )
    try:
        transfer = _create(client=client, key=key, offer=offer, actor=actor)
    except IntegrityError:  # the same token submitted twice at once: the first one won
        return Transfer.objects.get(client=client, key=key), False
    return transfer, True


def _create(*, client: Client, key: str, offer: Offer, actor: User | None) -> Transfer:
    account, amount, currency = offer.account, offer.amount, offer.currency
    where = f"MT5 #{account.login}"
    with transaction.atomic():
        hold_id = None
        if offer.direction == Direction.TO_ACCOUNT:
            try:
                hold = ledger_hold(
                    source=SOURCE,
                    key=f"{client.pk}:{key}:hold",
                    debit=wallet_for_client(client=client, currency=currency),
                    credit=trading_mirror_for_account(account=account),
                    amount=amount,
                    actor=actor,
                    memo=f"Transfer to {where}",
                )
            except ledger_errors.InsufficientFunds:
                available = wallet_available(client=client, currency=currency)
                raise TransferError(
                    f"You have {money_text(available, currency)} available.", field="amount"
                ) from None
            hold_id = hold.journal_id
        sign = 1 if offer.direction == Direction.TO_ACCOUNT else -1
        try:
            op = balance_operation_request(
                account=account,
                amount=sign * amount,
                comment="From wallet" if sign > 0 else "To wallet",
                # Derived from the token: a racing duplicate finds the same operation.
                op_ref=f"T{key[:24]}",
            )
        except ClientError as exc:
            raise TransferError(exc.message) from exc
        transfer = Transfer.objects.create(
            client=client,
            key=key,
            direction=offer.direction,
            account=account,
            currency_id=currency,
            amount=amount,
            balance_op=op,
            hold_journal_id=hold_id,
        )
        transaction.on_commit(lambda: _enqueue(transfer.pk))
    return transfer


def _enqueue(transfer_id: int) -> None:
    from wallets.transfers.tasks import transfer_send

    try:
        transfer_send.apply_async(args=[transfer_id], queue="platform")
    except Exception:  # the transfer is stored: the resolver sends it if the broker is down
        log.exception("transfers: transfer %s stored but not enqueued", transfer_id)


def transfer_process(*, transfer_id: int, platform: Any = None) -> Transfer:
    """Carry a transfer out (the task), or find out how it ended (the resolver).

    `balance_operation_send` looks the operation up on the server before it sends, and keeps
    its row locked meanwhile, so running this twice (a task and the resolver) sends once.
    It talks to the trading server: call it outside any transaction of your own (the task
    and the beat do), so no lock of ours waits on the network."""
    transfer = Transfer.objects.select_related("balance_op").get(pk=transfer_id)
    if not transfer.in_flight:
        return transfer
    Transfer.objects.filter(pk=transfer.pk, status=Status.REQUESTED).update(
        status=Status.SENT, sent_at=timezone.now()
    )
    balance_operation_send(op=transfer.balance_op, platform=platform)
    return transfer_settle(transfer_id=transfer.pk)


def _refusal_text(transfer: Transfer, op: BalanceOperation) -> str:
    where = f"MT5 #{transfer.account.login}"
    if op.error.startswith("InsufficientFunds"):
        reason = f"{where} does not have enough free margin for it"
    else:
        reason = op.error.split(": ", 1)[-1] or "no reason given"
    if transfer.direction == Direction.TO_ACCOUNT:
        return (
            f"The trading server refused the transfer to {where} ({reason}). "
            f"{money_text(transfer.amount, transfer.currency_id)} is back in your wallet."
        )
    return f"The trading server refused the transfer from {where} ({reason}). Nothing was moved."


@transaction.atomic
def transfer_settle(*, transfer_id: int) -> Transfer:
    """Bring the ledger and the transfer in line with its balance operation's outcome."""
    transfer = (
        Transfer.objects.select_for_update(of=("self",))
        .select_related("balance_op", "account", "client__user")
        .get(pk=transfer_id)
    )
    if not transfer.in_flight:
        return transfer
    op = transfer.balance_op
    op.refresh_from_db()
    now = timezone.now()
    where = f"MT5 #{transfer.account.login}"
    amount_text = money_text(transfer.amount, transfer.currency_id)
    if op.status == BalanceOperation.Status.DONE:
        if transfer.direction == Direction.TO_ACCOUNT:
            assert transfer.hold_journal_id is not None
            posting = ledger_post_pending(
                source=SOURCE,
                key=f"{transfer.client_id}:{transfer.key}:post",
                hold_id=transfer.hold_journal_id,
                memo=f"Transfer to {where}",
            )
        else:
            account = transfer.account
            posting = ledger_transfer(
                source=SOURCE,
                key=f"{transfer.client_id}:{transfer.key}:post",
                legs=[
                    Leg(trading_mirror_for_account(account=account), "D", transfer.amount),
                    Leg(
                        wallet_for_client(client=transfer.client, currency=transfer.currency_id),
                        "C",
                        transfer.amount,
                    ),
                ],
                kind=Journal.Kind.TRANSFER,
                memo=f"Transfer from {where}",
                external_ref=f"deal {op.deal_ticket}",
            )
        _move(transfer, Status.DONE, post_journal_id=posting.journal_id, finished_at=now, error="")
        notify(
            client=transfer.client,
            key=f"transfer:{transfer.pk}:done",
            subject=f"Transfer done: {amount_text} from {transfer.from_label} to {transfer.to_label}",
            link=f"/portal/transfers/{transfer.pk}/",
            level="success",
            email=False,
        )
    elif op.status == BalanceOperation.Status.REFUSED:
        fields: dict[str, Any] = {"finished_at": now, "error": _refusal_text(transfer, op)}
        if transfer.direction == Direction.TO_ACCOUNT:
            assert transfer.hold_journal_id is not None
            void = ledger_void_pending(
                source=SOURCE,
                key=f"{transfer.client_id}:{transfer.key}:void",
                hold_id=transfer.hold_journal_id,
                memo=f"Transfer to {where} refused",
            )
            fields["void_journal_id"] = void.journal_id
        _move(transfer, Status.FAILED, **fields)
        notify(
            client=transfer.client,
            key=f"transfer:{transfer.pk}:failed",
            subject=f"Transfer failed: {amount_text} to {transfer.to_label}",
            body=transfer.error,
            link=f"/portal/transfers/{transfer.pk}/",
            level="warning",
        )
    elif op.status == BalanceOperation.Status.UNKNOWN:
        _move(transfer, Status.UNKNOWN)
    # PENDING: the server was busy before it applied anything; it stays SENT for the resolver.
    return transfer


def _move(transfer: Transfer, status: str, **fields: Any) -> None:
    if not transfer.can_move_to(status):
        raise TransferError(f"A {transfer.status} transfer can't become {status}.")
    transfer.status = status
    for name, value in fields.items():
        setattr(transfer, name, value)
    transfer.save(update_fields=["status", *fields])


def transfers_resolve(*, older_than: timedelta = RESOLVE_AFTER, limit: int = 200) -> int:
    """The beat: every transfer still in flight after `older_than` (a lost reply, a busy
    server, a task that never ran) is looked up and settled. Returns how many ended."""
    cutoff = timezone.now() - older_than
    ids = list(
        Transfer.objects.filter(status__in=Transfer.IN_FLIGHT, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    ended = 0
    for transfer_id in ids:
        try:
            transfer = transfer_process(transfer_id=transfer_id)
        except Exception:  # one server down must not stop the others
            log.exception("transfers: resolving transfer %s failed", transfer_id)
            continue
        ended += not transfer.in_flight
    return ended
