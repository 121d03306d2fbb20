"""The bundled demo provider: a hosted-page imitation served by this app at /pay/demo/<ref>/
with Success / Decline / Pending buttons. A button's answer comes back as a signed callback
to /webhooks/demo-pay/, through the same view and services as a real provider's webhook, so
`make run` shows the whole flow offline.

The callback is signed like Stripe's (header ``X-Demo-Signature: t=<unix time>,v1=<hex
HMAC-SHA256 of "<t>.<raw body>">``) with DEMO_PAY_SECRET, or a key derived from SECRET_KEY.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse

from wallets.payments.providers.base import (
    Checkout,
    EventKind,
    PayloadInvalid,
    PaymentProvider,
    ProviderEvent,
    SignatureInvalid,
    signature_header,
    signature_parts,
)

if TYPE_CHECKING:
    from wallets.payments.models import Deposit

SIGNATURE_HEADER = "X-Demo-Signature"
TOLERANCE = 300  # seconds a signed callback stays valid (replays after that are refused)

# The demo's event types and what they mean to us.
EVENT_KINDS = {
    "payment.succeeded": EventKind.SUCCEEDED,
    "payment.declined": EventKind.FAILED,
    "payment.pending": EventKind.PENDING,
    "payment.expired": EventKind.EXPIRED,
    "payment.refunded": EventKind.REFUNDED,
    "payment.charged_back": EventKind.CHARGED_BACK,
}
OUTCOME_EVENTS = {kind: name for name, kind in EVENT_KINDS.items()}


def demo_secret() -> str:
    configured: str = settings.DEMO_PAY_SECRET
    if configured:
        return configured
    return hmac.new(settings.SECRET_KEY.encode(), b"demo-pay-callbacks", hashlib.sha256).hexdigest()


def _amount(value: Any) -> Decimal:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PayloadInvalid("payment.amount must be a decimal string.")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise PayloadInvalid("payment.amount is not a number.") from None
    if not amount.is_finite():
        raise PayloadInvalid("payment.amount is not a number.")
    return amount


class DemoProvider(PaymentProvider):
    name = "demo"
    label = "Demo provider"
    supports_refund = True

    def is_configured(self) -> bool:
        return True  # bundled: the key falls back to one derived from SECRET_KEY

    def create_payment(self, *, deposit: Deposit, return_url: str) -> Checkout:
        ref = f"dp_{secrets.token_urlsafe(18)}"
        return Checkout(payment_ref=ref, redirect_url=reverse("payments:demo-page", args=[ref]))

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        timestamp, signatures = signature_parts(headers.get(SIGNATURE_HEADER, ""))
        secret = demo_secret().encode()
        expected = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected, s) for s in signatures):
            raise SignatureInvalid("The signature does not match the body.")
        if abs(time.time() - timestamp) > TOLERANCE:
            raise SignatureInvalid("The signature's timestamp is too old (a replay?).")
        try:
            payload = json.loads(body)
        except ValueError:
            raise PayloadInvalid("The body is not JSON.") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("payment"), dict):
            raise PayloadInvalid("The body is not a demo payment event.")
        event_id, event_type = payload.get("id"), payload.get("type")
        payment = payload["payment"]
        ref = payment.get("id")
        if not isinstance(event_id, str) or not event_id or not isinstance(ref, str) or not ref:
            raise PayloadInvalid("The event has no id or no payment id.")
        if event_type not in EVENT_KINDS:
            raise PayloadInvalid(f"Unknown demo event type {event_type!r}.")
        reference = payment.get("reference")
        return ProviderEvent(
            event_id=event_id,
            event_type=str(event_type),
            kind=EVENT_KINDS[str(event_type)],
            payment_ref=ref,
            payment_id=ref,
            deposit_id=int(reference) if str(reference).isdigit() else None,
            amount=_amount(payment.get("amount")),
            currency=str(payment.get("currency", "")).upper(),
            reason=str(payment.get("reason", ""))[:300],
        )

    def refund(self, *, deposit: Deposit) -> str:
        return f"dr_{secrets.token_urlsafe(12)}"


def demo_callback(
    *, deposit: Deposit, kind: EventKind, reason: str = "", timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """The signed callback the demo provider sends for `deposit` (body, headers)."""
    body = json.dumps(
        {
            "id": f"evt_{secrets.token_hex(12)}",
            "type": OUTCOME_EVENTS[kind],
            "created": int(time.time()),
            "payment": {
                "id": deposit.provider_ref,
                "reference": str(deposit.pk),
                "amount": str(deposit.amount),
                "currency": deposit.currency,
                "reason": reason,
            },
        },
        separators=(",", ":"),
    ).encode()
    header = signature_header(body, demo_secret(), timestamp=timestamp)
    return body, {SIGNATURE_HEADER: header, "Content-Type": "application/json"}
