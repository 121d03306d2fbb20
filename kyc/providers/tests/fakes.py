"""Webhooks as the providers send them: the payloads in their documented shape, serialised
the way each provider serialises, and signed over those exact bytes."""
# ruff: noqa: S105, S106  (test secrets)

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

SUMSUB_WEBHOOK_SECRET = "sumsub-webhook-secret-for-tests"
SHUFTI_SECRET_KEY = "shufti-secret-key-for-tests"

_SUMSUB_DIGESTS = {
    "HMAC_SHA1_HEX": hashlib.sha1,
    "HMAC_SHA256_HEX": hashlib.sha256,
    "HMAC_SHA512_HEX": hashlib.sha512,
}


def sumsub_created_at(moment: datetime) -> str:
    """Sumsub's createdAtMs: a UTC "yyyy-MM-dd HH:mm:ss.fff" string."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def sumsub_payload(
    *,
    type: str,
    external_user_id: str,
    applicant_id: str = "6650a1b2c3d4e5f60718293a",
    review_status: str = "completed",
    created_at: datetime | None = None,
    review_answer: str | None = None,
    reject_type: str | None = None,
    reject_labels: list[str] | None = None,
    moderation_comment: str = "",
    client_comment: str = "",
    level_name: str = "basic-kyc-level",
) -> dict[str, Any]:
    created_at = created_at or datetime(2026, 11, 20, 10, 0, 0, 123000, tzinfo=UTC)
    payload: dict[str, Any] = {
        "applicantId": applicant_id,
        "inspectionId": "6650a1b2c3d4e5f60718293b",
        "applicantType": "individual",
        "correlationId": f"req-{uuid.uuid4()}",
        "levelName": level_name,
        "sandboxMode": False,
        "externalUserId": external_user_id,
        "type": type,
        "reviewStatus": review_status,
        "createdAt": created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+0000"),
        "createdAtMs": sumsub_created_at(created_at),
        "clientId": "meridian",
    }
    if review_answer is not None:
        result: dict[str, Any] = {"reviewAnswer": review_answer}
        if review_answer == "RED":
            result["rejectLabels"] = reject_labels or []
            if reject_type is not None:
                result["reviewRejectType"] = reject_type
            result["moderationComment"] = moderation_comment
            result["clientComment"] = client_comment
            result["buttonIds"] = ["badPhoto_screenRecapture"] if reject_type == "RETRY" else []
        payload["reviewResult"] = result
        payload["reviewMode"] = ""
        payload["reviewDate"] = payload["createdAt"]
    return payload


def sumsub_sign(
    body: bytes, *, secret: str = SUMSUB_WEBHOOK_SECRET, alg: str | None = "HMAC_SHA256_HEX"
) -> dict[str, str]:
    """Headers of a Sumsub delivery; alg=None leaves X-Payload-Digest-Alg out (SHA-256)."""
    digest = _SUMSUB_DIGESTS[alg or "HMAC_SHA256_HEX"]
    headers = {
        "Content-Type": "application/json",
        "X-Payload-Digest": hmac.new(secret.encode(), body, digest).hexdigest(),
    }
    if alg is not None:
        headers["X-Payload-Digest-Alg"] = alg
    return headers


def sumsub_webhook(
    *, alg: str | None = "HMAC_SHA256_HEX", secret: str = SUMSUB_WEBHOOK_SECRET, **fields: Any
) -> tuple[bytes, dict[str, str]]:
    # Sumsub posts pretty-printed JSON; only these bytes carry the signature.
    body = json.dumps(sumsub_payload(**fields), indent=2).encode()
    return body, sumsub_sign(body, secret=secret, alg=alg)


def php_json(payload: Any) -> bytes:
    """Serialise like PHP's json_encode: "/" escaped as "\\/", non-ASCII as "\\uXXXX"."""
    return (
        json.dumps(payload, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/").encode()
    )


def shufti_payload(
    *,
    reference: str,
    event: str,
    declined_reason: str | None = None,
    declined_codes: list[str] | None = None,
    background_checks: int | None = 1,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"reference": reference, "event": event}
    if event in {"verification.accepted", "verification.declined"}:
        accepted = event == "verification.accepted"
        payload["email"] = "client@example.test"
        payload["country"] = "CI"
        payload["verification_result"] = {
            "document": {"document": 1 if accepted else 0, "name": 1, "dob": 1},
            "face": 1,
            "background_checks": background_checks,
        }
        payload["verification_data"] = {
            "document": {
                "name": {"first_name": "Aïssata", "last_name": "Kouamé"},
                "dob": "1990-04-12",
                "issue_country": "CI",
                "selected_type": ["passport"],
                "supported_types": ["id_card", "passport", "driving_license"],
            },
            "address": {"full_address": "12 rue du Plateau, Abidjan, Côte d'Ivoire"},
        }
        payload["proofs"] = {
            "document": {
                "proof": f"https://ns.shuftipro.com/api/pea/{uuid.uuid4().hex}?access_token=t0k3n"
            },
            "verification_video": f"https://ns.shuftipro.com/api/pea/{uuid.uuid4().hex}",
        }
        payload["info"] = {
            "agent": {"is_desktop": True, "browser_name": "Chrome", "platform_name": "Linux"},
            "geolocation": {"country_name": "Côte d'Ivoire", "city": "Abidjan"},
        }
        if not accepted:
            payload["declined_reason"] = (
                declined_reason or "Le visage ne correspond pas à la photo."
            )
            payload["declined_codes"] = declined_codes or ["SPDR07", "SPDR19"]
    return payload


def shufti_sign(
    body: bytes, *, secret: str = SHUFTI_SECRET_KEY, scheme: str = "hashed-secret"
) -> dict[str, str]:
    if scheme == "hashed-secret":
        suffix = hashlib.sha256(secret.encode()).hexdigest().encode()
    else:
        suffix = secret.encode()
    return {
        "Content-Type": "application/json",
        "Signature": hashlib.sha256(body + suffix).hexdigest(),
    }


def shufti_webhook(
    *, secret: str = SHUFTI_SECRET_KEY, scheme: str = "hashed-secret", **fields: Any
) -> tuple[bytes, dict[str, str]]:
    body = php_json(shufti_payload(**fields))
    return body, shufti_sign(body, secret=secret, scheme=scheme)


def later(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)
