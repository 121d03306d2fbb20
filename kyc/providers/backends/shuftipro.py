"""Shufti Pro: callbacks and API answers carry a `Signature` header over the raw body.

The current scheme (Shufti's FAQ) is hex sha256(raw_body + hex sha256(secret_key)); older
accounts use hex sha256(raw_body + secret_key). Which one an account uses is not visible
from outside, so SHUFTIPRO_SIGNATURE_SCHEME selects it. Shufti serialises like PHP's
json_encode ("\\/" for "/", "\\u00f4" for "ô"): only the raw bytes verify, never a re-dump.

Callbacks carry no creation time, so ordering uses the verdict instead: once a final
verdict is processed, a late progress report (request.received, ...) for the same
reference is stale. A verdict itself (verification.accepted/declined) always applies,
because staff can change a decision in Shufti's back office.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings

from kyc.providers import base
from kyc.providers.base import (
    Envelope,
    PayloadInvalid,
    Provider,
    ProviderAPIError,
    Review,
    SignatureInvalid,
    Start,
    WebhookNotConfigured,
)

if TYPE_CHECKING:
    from clients.models import Client
    from kyc.providers.models import ProviderApplicant

SCHEME_HASHED_SECRET = "hashed-secret"  # noqa: S105 - sha256(body + sha256_hex(secret))
SCHEME_PLAIN_SECRET = "plain-secret"  # noqa: S105 - sha256(body + secret), older accounts
SCHEMES = (SCHEME_HASHED_SECRET, SCHEME_PLAIN_SECRET)

EVENT_STATES = {
    "request.pending": base.DOCS_REQUESTED,
    "request.received": base.SUBMITTED,
    "review.pending": base.UNDER_REVIEW,
    "verification.accepted": base.APPROVED,
    "verification.declined": base.REJECTED,
    "request.timeout": base.EXPIRED,
    "verification.cancelled": base.CANCELLED,
}
# Shufti's own AML screening (background_checks) came back declined: open an AML case.
AML_LABEL_BACKGROUND_CHECKS = "BACKGROUND_CHECKS"


def signature(*, body: bytes, secret: str, scheme: str) -> str:
    if scheme == SCHEME_HASHED_SECRET:
        suffix = hashlib.sha256(secret.encode()).hexdigest().encode()
    elif scheme == SCHEME_PLAIN_SECRET:
        suffix = secret.encode()
    else:
        raise ValueError(f"Unknown Shufti Pro signature scheme {scheme!r}.")
    return hashlib.sha256(body + suffix).hexdigest()


def signature_matches(*, body: bytes, given: str) -> bool:
    expected = signature(
        body=body, secret=settings.SHUFTIPRO_SECRET_KEY, scheme=settings.SHUFTIPRO_SIGNATURE_SCHEME
    )
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def review_from_payload(payload: Mapping[str, Any]) -> Review | None:
    state = EVENT_STATES.get(str(payload.get("event") or ""))
    if state is None:
        return None
    result = payload.get("verification_result")
    aml = []
    if isinstance(result, dict) and result.get("background_checks") == 0:
        aml.append(AML_LABEL_BACKGROUND_CHECKS)
    codes = payload.get("declined_codes") or []
    if not isinstance(codes, list):
        codes = [codes]
    return Review(
        state=state,
        reasons=[str(code) for code in codes],
        aml_labels=aml,
        client_message=str(payload.get("declined_reason") or ""),
    )


class ShuftiPro(Provider):
    name = "shuftipro"
    kept_headers = ("Signature", "Content-Type", "User-Agent")
    refetch_events = frozenset({"verification.status.changed"})

    def base_url(self) -> str:
        return settings.SHUFTIPRO_BASE_URL

    def auth(self) -> httpx.Auth:
        return httpx.BasicAuth(settings.SHUFTIPRO_CLIENT_ID, settings.SHUFTIPRO_SECRET_KEY)

    def reuses_applicant(self) -> bool:
        return False  # Shufti wants a new unique reference for every request

    # --- webhooks -------------------------------------------------------------------------
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        if not settings.SHUFTIPRO_SECRET_KEY:
            raise WebhookNotConfigured("SHUFTIPRO_SECRET_KEY is not set.")
        given = headers.get("Signature") or ""
        if not given:
            raise SignatureInvalid("The Signature header is missing.")
        if not signature_matches(body=body, given=given):
            raise SignatureInvalid("The Signature header does not match the body.")

    def parse_webhook(self, *, body: bytes) -> Envelope:
        payload = base.parse_json_object(body)
        reference = payload.get("reference")
        event = payload.get("event")
        if not isinstance(reference, str) or not reference:
            raise PayloadInvalid("The callback has no reference.")
        if not isinstance(event, str) or not event:
            raise PayloadInvalid("The callback has no event.")
        # Shufti sends no event id or time: the body's hash tells a resend from a new event.
        return Envelope(
            event_type=event,
            dedupe_key=f"{reference}|{event}|{hashlib.sha256(body).hexdigest()}",
            external_ref=reference,
        )

    def review_from_webhook(self, *, body: bytes) -> Review | None:
        return review_from_payload(base.parse_json_object(body))

    # --- API ------------------------------------------------------------------------------
    def _signed_json(self, response: httpx.Response) -> dict[str, Any]:
        payload = base.json_response(response)
        given = response.headers.get("Signature", "")
        if not given or not signature_matches(body=response.content, given=given):
            raise ProviderAPIError(
                f"{response.request.url.path} answered without a valid Signature."
            )
        return payload

    def start_verification(self, *, client: Client, applicant: ProviderApplicant) -> Start:
        request: dict[str, Any] = {
            "reference": applicant.external_id,
            "email": client.user.email,
            "verification_mode": "any",
            "document": {
                "supported_types": ["id_card", "passport", "driving_license"],
                "name": "",
                "dob": "",
            },
            "face": {},
            "background_checks": "",
        }
        if client.country:
            request["country"] = client.country
        if settings.SHUFTIPRO_CALLBACK_URL:
            request["callback_url"] = settings.SHUFTIPRO_CALLBACK_URL
        payload = self._signed_json(self.http.post("/", json=request))
        url = payload.get("verification_url")
        if payload.get("reference") != applicant.external_id or not url:
            raise ProviderAPIError(
                f"Shufti Pro answered {payload.get('event')!r} without a verification URL: "
                f"{payload.get('error') or ''}"
            )
        return Start(provider=self.name, reference=applicant.external_id, url=str(url))

    def fetch_status(self, *, applicant: ProviderApplicant) -> Review | None:
        payload = self._signed_json(
            self.http.post("/status", json={"reference": applicant.external_id})
        )
        return review_from_payload(payload)
