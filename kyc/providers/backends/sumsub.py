"""Sumsub: webhooks signed with an HMAC of the raw body; API requests signed per request.

Webhook: `X-Payload-Digest` is the hex HMAC of the body under the webhook's secret key,
with the algorithm in `X-Payload-Digest-Alg` (HMAC_SHA256_HEX when absent). SHA-1 is
refused even though Sumsub still offers it. `createdAtMs` orders events; Sumsub documents
it as a UTC "yyyy-MM-dd HH:mm:ss.fff" string, and an integer of milliseconds is read too.

API: every request carries X-App-Token, X-App-Access-Ts (unix seconds) and
X-App-Access-Sig = hex HMAC-SHA256(secret key, ts + METHOD + path-with-query + body).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from django.conf import settings

from kyc.providers import base
from kyc.providers.base import (
    AlgorithmRefused,
    Envelope,
    PayloadInvalid,
    Provider,
    Review,
    SignatureInvalid,
    Start,
    WebhookNotConfigured,
)

if TYPE_CHECKING:
    from clients.models import Client
    from kyc.providers.models import ProviderApplicant

DIGESTS = {"HMAC_SHA256_HEX": hashlib.sha256, "HMAC_SHA512_HEX": hashlib.sha512}
REFUSED_DIGESTS = {"HMAC_SHA1_HEX"}
DEFAULT_DIGEST = "HMAC_SHA256_HEX"

# Reject labels that must open an AML case, whatever the rejection type.
AML_LABELS = ("SANCTIONS", "PEP", "ADVERSE_MEDIA", "CRIMINAL", "COMPROMISED_PERSONS")

# Webhooks that report something other than a change of review status. Their payloads
# may still carry the current reviewStatus, which must not be replayed as a new verdict.
INFORMATIONAL_TYPES = frozenset(
    {
        "applicantPersonalInfoChanged",  # a re-fetch and rescreen, not a verdict
        "applicantTagsChanged",
        "applicantActivated",
        "applicantDeactivated",
        "applicantDeleted",
        "applicantLevelChanged",
        "applicantWorkflowCompleted",
    }
)
INFORMATIONAL_PREFIXES = ("applicantAction", "videoIdent", "applicantKyt")

STATUS_STATES = {
    "init": base.DOCS_REQUESTED,
    "pending": base.SUBMITTED,
    "prechecked": base.SUBMITTED,
    "queued": base.SUBMITTED,
    "onHold": base.UNDER_REVIEW,
}

TOKEN_TTL_SECONDS = 1800


def request_signature(*, secret: str, ts: str, method: str, path: str, body: bytes) -> str:
    """X-App-Access-Sig: `path` includes the query string, `body` is the exact bytes sent."""
    message = (ts + method.upper() + path).encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SumsubAuth(httpx.Auth):
    requires_request_body = True

    def __init__(self, *, app_token: str, secret: str) -> None:
        self.app_token = app_token
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        ts = str(int(time.time()))
        request.headers["X-App-Token"] = self.app_token
        request.headers["X-App-Access-Ts"] = ts
        request.headers["X-App-Access-Sig"] = request_signature(
            secret=self.secret,
            ts=ts,
            method=request.method,
            path=request.url.raw_path.decode("ascii"),
            body=request.content,
        )
        yield request


def parse_created_at(value: Any) -> datetime:
    if isinstance(value, bool):
        raise PayloadInvalid(f"createdAtMs {value!r} is not a date.")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
        for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
            try:
                return datetime.strptime(text, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise PayloadInvalid(f"createdAtMs {value!r} is not a date.")


def review_from_status(*, status: str, result: Mapping[str, Any] | None) -> Review | None:
    """Our state from Sumsub's reviewStatus and reviewResult (webhook or API alike)."""
    if status in STATUS_STATES:
        return Review(state=STATUS_STATES[status])
    if status.startswith("awaiting"):  # awaitingService, awaitingUser
        return Review(state=base.UNDER_REVIEW)
    if status != "completed":
        return None
    result = result or {}
    answer = result.get("reviewAnswer")
    labels = [str(label) for label in result.get("rejectLabels") or []]
    aml = [label for label in labels if label in AML_LABELS]
    if answer == "GREEN":
        return Review(state=base.APPROVED, aml_labels=aml)
    if answer != "RED":
        raise PayloadInvalid(f"completed with reviewAnswer {answer!r}.")
    # reviewRejectType decides; the labels only explain (and may open an AML case).
    reject_type = result.get("reviewRejectType")
    if reject_type == "RETRY":
        state = base.RESUBMIT
    elif reject_type == "FINAL":
        state = base.REJECTED
    else:
        raise PayloadInvalid(f"completed RED with reviewRejectType {reject_type!r}.")
    return Review(
        state=state,
        reasons=labels,
        aml_labels=aml,
        client_message=str(result.get("moderationComment") or ""),
    )


class Sumsub(Provider):
    name = "sumsub"
    kept_headers = ("X-Payload-Digest", "X-Payload-Digest-Alg", "Content-Type", "User-Agent")
    refetch_events = frozenset({"applicantPersonalInfoChanged"})

    def base_url(self) -> str:
        return settings.SUMSUB_BASE_URL

    def auth(self) -> httpx.Auth:
        return SumsubAuth(app_token=settings.SUMSUB_APP_TOKEN, secret=settings.SUMSUB_SECRET_KEY)

    # --- webhooks -------------------------------------------------------------------------
    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> None:
        secret = settings.SUMSUB_WEBHOOK_SECRET
        if not secret:
            raise WebhookNotConfigured("SUMSUB_WEBHOOK_SECRET is not set.")
        algorithm = (headers.get("X-Payload-Digest-Alg") or DEFAULT_DIGEST).strip()
        if algorithm in REFUSED_DIGESTS:
            raise AlgorithmRefused(
                f"{algorithm} is refused: choose SHA-256 or SHA-512 in Sumsub's webhook manager."
            )
        digest = DIGESTS.get(algorithm)
        if digest is None:
            raise AlgorithmRefused(f"Unknown X-Payload-Digest-Alg {algorithm[:40]!r}.")
        given = (headers.get("X-Payload-Digest") or "").strip().lower()
        if not given:
            raise SignatureInvalid("X-Payload-Digest is missing.")
        expected = hmac.new(secret.encode(), body, digest).hexdigest()
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise SignatureInvalid("X-Payload-Digest does not match the body.")

    def parse_webhook(self, *, body: bytes) -> Envelope:
        payload = base.parse_json_object(body)
        event_type = payload.get("type")
        created = payload.get("createdAtMs")
        applicant_id = str(payload.get("applicantId") or "")
        external = str(payload.get("externalUserId") or "")
        if not isinstance(event_type, str) or not event_type:
            raise PayloadInvalid("The webhook has no type.")
        if created is None:
            raise PayloadInvalid("The webhook has no createdAtMs.")
        if not applicant_id and not external:
            raise PayloadInvalid("The webhook names no applicant.")
        return Envelope(
            event_type=event_type,
            dedupe_key=f"{applicant_id or external}|{event_type}|{created}",
            external_ref=external,
            applicant_id=applicant_id,
            occurred_at=parse_created_at(created),
            level_name=str(payload.get("levelName") or ""),
        )

    def review_from_webhook(self, *, body: bytes) -> Review | None:
        payload = base.parse_json_object(body)
        event_type = str(payload.get("type") or "")
        if event_type in INFORMATIONAL_TYPES or event_type.startswith(INFORMATIONAL_PREFIXES):
            return None
        if event_type == "applicantReset":
            return Review(state=base.DOCS_REQUESTED)
        return review_from_status(
            status=str(payload.get("reviewStatus") or ""), result=payload.get("reviewResult")
        )

    # --- API ------------------------------------------------------------------------------
    def start_verification(self, *, client: Client, applicant: ProviderApplicant) -> Start:
        level = applicant.level_name or settings.SUMSUB_LEVEL_NAME
        response = self.http.post(
            "/resources/accessTokens/sdk",
            json={
                "userId": applicant.external_id,
                "levelName": level,
                "ttlInSecs": TOKEN_TTL_SECONDS,
            },
        )
        payload = base.json_response(response)
        token = payload.get("token")
        if not token:
            raise base.ProviderAPIError("Sumsub returned no access token.")
        return Start(
            provider=self.name,
            reference=applicant.external_id,
            sdk_token=str(token),
            level_name=level,
        )

    def fetch_status(self, *, applicant: ProviderApplicant) -> Review | None:
        if applicant.applicant_id:
            path = f"/resources/applicants/{quote(applicant.applicant_id, safe='')}/status"
            review = base.json_response(self.http.get(path))
        else:
            path = f"/resources/applicants/-;externalUserId={quote(applicant.external_id, safe='')}/one"
            payload = base.json_response(self.http.get(path))
            review = payload.get("review") or {}
        return review_from_status(
            status=str(review.get("reviewStatus") or ""), result=review.get("reviewResult")
        )
