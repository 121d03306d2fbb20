"""Stripe Checkout: a Checkout Session per deposit (our deposit id in client_reference_id and
metadata), its webhooks verified by the stripe package itself (`stripe.Webhook.
construct_event` over the raw bytes and the Stripe-Signature header).

Events read: checkout.session.completed (paid, or unpaid for a delayed method: pending),
checkout.session.async_payment_succeeded / _failed, checkout.session.expired, charge.refunded
(full refunds; a partial one is left to finance) and charge.dispute.created (a chargeback).
Refunds and disputes name the PaymentIntent, which the completed session told us.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import stripe
from django.conf import settings

from wallets.ledger.services import currency_exponent, to_minor
from wallets.payments.providers.base import (
    Checkout,
    EventKind,
    NotConfigured,
    PayloadInvalid,
    PaymentProvider,
    ProviderEvent,
    ProviderUnavailable,
    SignatureInvalid,
    signature_parts,
)

if TYPE_CHECKING:
    from wallets.payments.models import Deposit

SIGNATURE_HEADER = "Stripe-Signature"


def _major(minor: Any, currency: str) -> Decimal | None:
    if not isinstance(minor, int) or isinstance(minor, bool):
        return None
    return Decimal(minor).scaleb(-currency_exponent(currency))


def _deposit_id(obj: Mapping[str, Any]) -> int | None:
    ref = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("deposit_id")
    return int(ref) if isinstance(ref, str) and ref.isdigit() else None


class StripeProvider(PaymentProvider):
    name = "stripe"
    label = "Stripe"
    supports_refund = True

    def is_configured(self) -> bool:
        return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)

    def _client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            settings.STRIPE_SECRET_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=0,
            http_client=stripe.HTTPXClient(
                timeout=settings.PAYMENT_PROVIDER_HTTP_TIMEOUT, allow_sync_methods=True
            ),
        )

    def create_payment(self, *, deposit: Deposit, return_url: str) -> Checkout:
        if not self.is_configured():
            raise ProviderUnavailable("Stripe is not configured.")
        currency = deposit.currency
        params: dict[str, Any] = {
            "mode": "payment",
            "client_reference_id": str(deposit.pk),
            "metadata": {"deposit_id": str(deposit.pk)},
            "payment_intent_data": {"metadata": {"deposit_id": str(deposit.pk)}},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency.lower(),
                        # Stripe takes minor units; our exponents agree for the fiat we offer.
                        "unit_amount": to_minor(deposit.amount, currency),
                        "product_data": {
                            "name": f"Deposit #{deposit.pk} to your {currency} wallet"
                        },
                    },
                }
            ],
            "success_url": return_url,
            "cancel_url": return_url,
        }
        if deposit.client.user.email:
            params["customer_email"] = deposit.client.user.email
        try:
            session = self._client().v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": f"deposit-{deposit.pk}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(
                f"Stripe refused the session: {exc.user_message or exc}"
            ) from exc
        if not session.id or not session.url:
            raise ProviderUnavailable("Stripe answered without a session id or URL.")
        return Checkout(payment_ref=session.id, redirect_url=session.url)

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            raise NotConfigured("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET).")
        header = headers.get(SIGNATURE_HEADER, "")
        signature_parts(header)  # a missing or foreign scheme is a 400, not a bad signature
        try:
            event = stripe.Webhook.construct_event(body, header, secret)
        except stripe.SignatureVerificationError as exc:
            raise SignatureInvalid(str(exc)) from None
        except (ValueError, UnicodeDecodeError):
            raise PayloadInvalid("The body is not a Stripe event.") from None
        payload = event.to_dict()
        return self._read(payload)

    def _read(self, payload: dict[str, Any]) -> ProviderEvent:
        event_id, event_type = payload.get("id"), payload.get("type")
        obj = (payload.get("data") or {}).get("object")
        if not isinstance(event_id, str) or not isinstance(event_type, str):
            raise PayloadInvalid("The event has no id or type.")
        if not isinstance(obj, dict):
            raise PayloadInvalid("The event has no data.object.")
        currency = str(obj.get("currency") or "").upper()
        base: dict[str, Any] = {
            "event_id": event_id,
            "event_type": event_type,
            "currency": currency,
        }
        if event_type.startswith("checkout.session."):
            kind = {
                "checkout.session.async_payment_succeeded": EventKind.SUCCEEDED,
                "checkout.session.async_payment_failed": EventKind.FAILED,
                "checkout.session.expired": EventKind.EXPIRED,
            }.get(event_type, EventKind.IGNORED)
            if event_type == "checkout.session.completed":
                status = obj.get("payment_status")
                kind = EventKind.SUCCEEDED if status == "paid" else EventKind.PENDING
            return ProviderEvent(
                **base,
                kind=kind,
                payment_ref=str(obj.get("id") or ""),
                payment_id=str(obj.get("payment_intent") or ""),
                deposit_id=_deposit_id(obj),
                amount=_major(obj.get("amount_total"), currency) if currency else None,
            )
        if event_type == "charge.refunded":
            full = obj.get("refunded") is True
            return ProviderEvent(
                **base,
                kind=EventKind.REFUNDED if full else EventKind.IGNORED,
                payment_id=str(obj.get("payment_intent") or ""),
                amount=_major(obj.get("amount_refunded"), currency) if currency else None,
                reason="" if full else "partial refund: book it by hand",
            )
        if event_type == "charge.dispute.created":
            return ProviderEvent(
                **base,
                kind=EventKind.CHARGED_BACK,
                payment_id=str(obj.get("payment_intent") or ""),
                amount=_major(obj.get("amount"), currency) if currency else None,
                reason=str(obj.get("reason") or "")[:300],
            )
        return ProviderEvent(**base, kind=EventKind.IGNORED)

    def refund(self, *, deposit: Deposit) -> str:
        if not deposit.payment_id:
            raise ProviderUnavailable("Stripe has not told us the payment of this deposit yet.")
        try:
            refund = self._client().v1.refunds.create(
                {"payment_intent": deposit.payment_id},
                {"idempotency_key": f"refund-deposit-{deposit.pk}"},
            )
        except stripe.StripeError as exc:
            raise ProviderUnavailable(
                f"Stripe refused the refund: {exc.user_message or exc}"
            ) from exc
        return str(refund.id)
