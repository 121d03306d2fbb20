"""The seam every payment provider sits behind.

A provider is one module in this package with one `PaymentProvider` subclass: it starts a
payment (and says where to send the client), verifies a webhook over its raw bytes and reads
it into a `ProviderEvent` in our terms, and refunds where the provider can. Everything else
(the deposit's state, the ledger, deduplication) is generic and lives in services.py.
"""

from __future__ import annotations

import abc
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from wallets.payments.models import Deposit


class EventKind(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PENDING = "pending"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    CHARGED_BACK = "charged_back"
    IGNORED = "ignored"  # signed and readable, but nothing we act on (a partial refund...)


@dataclass(frozen=True)
class ProviderEvent:
    """What a verified webhook says, in our terms."""

    event_id: str  # the provider's id of this notification: deduplication
    event_type: str  # the provider's own name for it
    kind: EventKind
    payment_ref: str = ""  # the provider's id of the payment (Deposit.provider_ref)
    payment_id: str = ""  # the id refunds and disputes name (Deposit.payment_id)
    deposit_id: int | None = None  # ours, where the provider echoes it back
    amount: Decimal | None = None  # in major units, when the event carries it
    currency: str = ""
    reason: str = ""  # a decline's or dispute's reason, as the provider puts it


@dataclass(frozen=True)
class Checkout:
    """A payment started at the provider: its id and where the client pays."""

    payment_ref: str
    redirect_url: str


class WebhookError(Exception):
    """A webhook refused before anything was stored; `status` is the HTTP answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PayloadInvalid(WebhookError):
    """Not a signature scheme or a body we can read (400)."""


class SignatureInvalid(WebhookError):
    status = 401


class NotConfigured(WebhookError):
    # 503: the provider retries, which is what we want until its secret is set.
    status = 503


class ProviderUnavailable(Exception):
    """The provider's API could not be reached or refused the request."""


class PaymentProvider(abc.ABC):
    name: ClassVar[str]
    label: ClassVar[str]
    supports_refund: ClassVar[bool] = False

    @abc.abstractmethod
    def is_configured(self) -> bool:
        """False: its methods are hidden from clients and its webhook answers 503."""

    @abc.abstractmethod
    def create_payment(self, *, deposit: Deposit, return_url: str) -> Checkout:
        """Start a payment for `deposit` (saved, with its amount and currency); raise
        ProviderUnavailable if the provider can't. `return_url` is where the client comes
        back to (the deposit's status page), whatever the outcome."""

    @abc.abstractmethod
    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify `body` (the raw bytes) against its signature header and read it; raise
        PayloadInvalid (400), SignatureInvalid (401) or NotConfigured (503)."""

    def refund(self, *, deposit: Deposit) -> str:
        """Give the whole deposit back to where it came from; returns the refund's id."""
        raise ProviderUnavailable(f"{self.label} does not take refunds through the API.")


# --- "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>'>": Stripe's scheme, also the demo's


def signature_header(body: bytes, secret: str, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def signature_parts(header: str) -> tuple[int, list[str]]:
    """The timestamp and v1 signatures of a header; PayloadInvalid if it is not the scheme."""
    if not header:
        raise PayloadInvalid("The signature header is missing.")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise PayloadInvalid("The signature header is malformed.")
        if key == "t":
            if not value.isdigit():
                raise PayloadInvalid("The signature header's timestamp is not a number.")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise PayloadInvalid("The signature header has no timestamp.")
    if not signatures:
        raise PayloadInvalid("The signature header has no v1 signature (unsupported scheme).")
    return timestamp, signatures
