"""The seam every KYC provider sits behind.

A provider is one module in `kyc/providers/backends/` holding one `Provider` subclass:
it checks a webhook's signature over the raw bytes, reads the few fields we need out of
the payload, maps the provider's statuses onto our case states, and talks to the
provider's API (start a verification, fetch a stuck one's status). Everything else
(storing events, deduplication, ordering, the case) is generic and lives in services.py.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from django.conf import settings

if TYPE_CHECKING:
    from clients.models import Client
    from kyc.providers.models import ProviderApplicant

# Our case states (kyc.models.CaseState's values), as the providers' verdicts map onto them.
DOCS_REQUESTED = "docs_requested"
SUBMITTED = "submitted"
UNDER_REVIEW = "under_review"
APPROVED = "approved"
RESUBMIT = "resubmit"
REJECTED = "rejected"
EXPIRED = "expired"
CANCELLED = "cancelled"
# A verdict after which a mere progress report ("received", "pending") is out of date.
FINAL_STATES = frozenset({APPROVED, RESUBMIT, REJECTED, EXPIRED, CANCELLED})


class WebhookError(Exception):
    """A webhook was refused before anything was stored; `status` is the HTTP answer."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WebhookNotConfigured(WebhookError):
    # 503: the provider retries, which is what we want until the secret is set.
    status = 503


class SignatureInvalid(WebhookError):
    status = 401


class AlgorithmRefused(WebhookError):
    status = 400


class PayloadInvalid(WebhookError):
    """Signed, but not a payload we can read (not JSON, a key field missing)."""

    status = 400


class ProviderAPIError(Exception):
    """The provider's API refused a request or answered something we can't use."""


@dataclass(frozen=True)
class Envelope:
    """What a webhook says about itself, enough to store, deduplicate and order it."""

    event_type: str
    dedupe_key: str
    external_ref: str  # our reference (Sumsub externalUserId, Shufti reference)
    applicant_id: str = ""  # the provider's id for the applicant, if it has one
    occurred_at: datetime | None = None  # when the provider created the event
    level_name: str = ""


@dataclass(frozen=True)
class Review:
    """A provider's verdict in our terms: the arguments of kyc.hooks.provider_review."""

    state: str
    reasons: list[str] = field(default_factory=list)
    aml_labels: list[str] = field(default_factory=list)
    client_message: str = ""


@dataclass(frozen=True)
class Start:
    """Where to send a client to be verified: a URL to open, or a token for the provider's
    web/mobile SDK. `reference` is ours (ProviderApplicant.external_id)."""

    provider: str
    reference: str
    url: str = ""
    sdk_token: str = ""
    level_name: str = ""


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PayloadInvalid(f"The body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadInvalid("The body is not a JSON object.")
    return payload


class Provider(abc.ABC):
    """One KYC provider. Subclasses set `name` and implement the methods below."""

    name: ClassVar[str]
    # Headers worth keeping with a stored event (the signature and its algorithm).
    kept_headers: ClassVar[tuple[str, ...]] = ()
    # Events that say only "something changed": the status is fetched from the API instead.
    refetch_events: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, http: httpx.Client | None = None) -> None:
        self._http = http

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(
                base_url=self.base_url(),
                timeout=httpx.Timeout(settings.KYC_PROVIDER_HTTP_TIMEOUT, connect=5.0),
                auth=self.auth(),
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def base_url(self) -> str:
        raise NotImplementedError

    def auth(self) -> httpx.Auth | None:
        return None

    # --- webhooks -------------------------------------------------------------------------
    @abc.abstractmethod
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        """Raise a WebhookError unless `body` (the raw bytes) is signed by the provider."""

    @abc.abstractmethod
    def parse_webhook(self, *, body: bytes) -> Envelope:
        """Read the envelope of a verified webhook; raise PayloadInvalid if unreadable."""

    @abc.abstractmethod
    def review_from_webhook(self, *, body: bytes) -> Review | None:
        """The verdict a webhook carries in our states, or None if it carries none."""

    # --- API ------------------------------------------------------------------------------
    @abc.abstractmethod
    def start_verification(self, *, client: Client, applicant: ProviderApplicant) -> Start:
        """Ask the provider for a verification session for `applicant` (already saved)."""

    @abc.abstractmethod
    def fetch_status(self, *, applicant: ProviderApplicant) -> Review | None:
        """The provider's current verdict on `applicant` (for cases stuck without webhook)."""

    def reuses_applicant(self) -> bool:
        """True if one reference serves all of a client's attempts (Sumsub's externalUserId);
        False if each verification request needs a fresh one (Shufti's reference)."""
        return True

    def kept(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {name: headers[name] for name in self.kept_headers if name in headers}


def json_response(response: httpx.Response) -> dict[str, Any]:
    if response.is_error:
        raise ProviderAPIError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}: {response.text[:300]}"
        )
    try:
        payload = response.json()
    except ValueError:
        raise ProviderAPIError(
            f"{response.request.url.path} answered something that is not JSON."
        ) from None
    if not isinstance(payload, dict):
        raise ProviderAPIError(f"{response.request.url.path} answered a non-object.")
    return payload
