"""Webhook endpoints: signatures over the raw bytes, storage, deduplication, ordering and
the mapping onto our case states, with payloads built as the providers send them."""
# ruff: noqa: S105, S106  (test secrets)

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kyc.providers import services
from kyc.providers.models import WebhookEvent
from kyc.providers.tests import fakes

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 10, 0, 0, 123000, tzinfo=UTC)
Outcome = WebhookEvent.Outcome


# --- Sumsub: signature ---------------------------------------------------------------------
@pytest.mark.parametrize("alg", [None, "HMAC_SHA256_HEX", "HMAC_SHA512_HEX"])
def test_sumsub_sha256_and_sha512_signatures_are_accepted(deliver, sumsub_applicant, reviews, alg):
    body, headers = fakes.sumsub_webhook(
        alg=alg, type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    response = deliver("sumsub", body, headers)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "duplicate": False}
    event = WebhookEvent.objects.get()
    assert bytes(event.raw_body) == body
    assert event.headers["X-Payload-Digest"] == headers["X-Payload-Digest"]
    assert event.outcome == Outcome.PROCESSED


def test_sumsub_sha1_is_refused_even_when_correctly_signed(deliver, sumsub_applicant, reviews):
    body, headers = fakes.sumsub_webhook(
        alg="HMAC_SHA1_HEX", type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    response = deliver("sumsub", body, headers)

    assert response.status_code == 400
    assert "HMAC_SHA1_HEX is refused" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_sumsub_unknown_algorithm_is_a_400(deliver, sumsub_applicant):
    body, headers = fakes.sumsub_webhook(
        type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    headers["X-Payload-Digest-Alg"] = "HMAC_MD5_HEX"

    response = deliver("sumsub", body, headers)

    assert response.status_code == 400
    assert response.json()["error"] == "Unknown X-Payload-Digest-Alg 'HMAC_MD5_HEX'."
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("position", [0, 57, -2])
def test_sumsub_one_changed_byte_is_a_401(deliver, sumsub_applicant, position):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    tampered = bytearray(body)
    tampered[position] ^= 0x01

    response = deliver("sumsub", bytes(tampered), headers)

    assert response.status_code == 401
    assert not WebhookEvent.objects.exists()


def test_sumsub_missing_or_wrong_digest_is_a_401(deliver, sumsub_applicant):
    body, headers = fakes.sumsub_webhook(
        type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    missing = {k: v for k, v in headers.items() if k != "X-Payload-Digest"}
    other_secret = fakes.sumsub_sign(body, secret="not-our-secret")

    assert deliver("sumsub", body, missing).status_code == 401
    assert deliver("sumsub", body, other_secret).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_an_unconfigured_secret_refuses_everything_with_503(deliver, settings, sumsub_applicant):
    settings.SUMSUB_WEBHOOK_SECRET = ""
    body = json.dumps({"type": "applicantPending"}).encode()
    # An empty key would otherwise let anyone sign: HMAC("", body) is public knowledge.
    response = deliver("sumsub", body, fakes.sumsub_sign(body, secret=""))

    assert response.status_code == 503
    assert not WebhookEvent.objects.exists()


def test_webhooks_are_post_only_and_need_no_csrf_token(client, sumsub_applicant):
    assert client.get("/webhooks/sumsub/").status_code == 405
    assert client.get("/webhooks/shuftipro/").status_code == 405


def test_csrf_is_not_asked_of_a_provider(sumsub_applicant, reviews, queue):
    from django.test import Client as HttpClient

    body, headers = fakes.sumsub_webhook(
        type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    strict = HttpClient(enforce_csrf_checks=True)
    response = strict.post(
        "/webhooks/sumsub/",
        data=body,
        content_type="application/json",
        headers={"X-Payload-Digest": headers["X-Payload-Digest"]},
    )
    assert response.status_code == 200


def test_a_signed_body_that_is_not_json_is_a_400(deliver):
    body = b"<xml>not json</xml>"
    response = deliver("sumsub", body, fakes.sumsub_sign(body))
    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


# --- Sumsub: mapping -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("event_type", "status", "state"),
    [
        ("applicantCreated", "init", "docs_requested"),
        ("applicantReset", "init", "docs_requested"),
        ("applicantPending", "pending", "submitted"),
        ("applicantPrechecked", "prechecked", "submitted"),
        ("applicantPending", "queued", "submitted"),
        ("applicantOnHold", "onHold", "under_review"),
        ("applicantPending", "awaitingService", "under_review"),
        ("applicantPending", "awaitingUser", "under_review"),
    ],
)
def test_sumsub_progress_maps_onto_our_states(
    deliver, sumsub_applicant, reviews, event_type, status, state
):
    body, headers = fakes.sumsub_webhook(
        type=event_type, review_status=status, external_user_id=sumsub_applicant.external_id
    )

    assert deliver("sumsub", body, headers).status_code == 200

    event = WebhookEvent.objects.get()
    assert reviews.calls == [
        {
            "client": sumsub_applicant.client,
            "provider": "sumsub",
            "state": state,
            "reasons": [],
            "aml_labels": [],
            "client_message": "",
            "event_id": event.pk,
        }
    ]
    assert (event.outcome, event.state, event.client) == (
        Outcome.PROCESSED,
        state,
        sumsub_applicant.client,
    )
    assert event.processed_at is not None


def test_sumsub_green_is_approved(deliver, sumsub_applicant, reviews):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    assert [(c["state"], c["reasons"], c["aml_labels"]) for c in reviews.calls] == [
        ("approved", [], [])
    ]


def test_sumsub_red_retry_is_resubmit_with_the_client_facing_comment(
    deliver, sumsub_applicant, reviews
):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="RED", reject_type="RETRY",
        reject_labels=["BAD_PROOF_OF_IDENTITY", "SCREENSHOTS"],
        moderation_comment="Please upload a photo of the whole document.",
        client_comment="Screenshot of a screen; ask for a photo.",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    (call,) = reviews.calls
    assert call["state"] == "resubmit"
    assert call["reasons"] == ["BAD_PROOF_OF_IDENTITY", "SCREENSHOTS"]
    assert call["aml_labels"] == []
    # moderationComment is for the client; clientComment is internal and never sent on.
    assert call["client_message"] == "Please upload a photo of the whole document."


def test_sumsub_red_final_is_rejected(deliver, sumsub_applicant, reviews):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="RED", reject_type="FINAL",
        reject_labels=["FORGERY"], moderation_comment="We can't verify you.",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    assert [(c["state"], c["reasons"]) for c in reviews.calls] == [("rejected", ["FORGERY"])]
    assert WebhookEvent.objects.get().state == "rejected"


def test_sumsub_reject_type_decides_not_the_labels_and_aml_labels_are_passed(
    deliver, sumsub_applicant, reviews
):
    # A "final-sounding" label with RETRY is still a resubmission; the AML labels travel on.
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="RED", reject_type="RETRY",
        reject_labels=["FORGERY", "SANCTIONS", "PEP", "ADVERSE_MEDIA", "CRIMINAL",
                       "COMPROMISED_PERSONS", "BAD_SELFIE"],
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    (call,) = reviews.calls
    assert call["state"] == "resubmit"
    assert call["aml_labels"] == [
        "SANCTIONS",
        "PEP",
        "ADVERSE_MEDIA",
        "CRIMINAL",
        "COMPROMISED_PERSONS",
    ]
    assert "FORGERY" in call["reasons"] and "BAD_SELFIE" in call["reasons"]


def test_sumsub_red_without_reject_type_is_marked_invalid_not_guessed(
    deliver, sumsub_applicant, reviews
):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="RED", reject_labels=["SANCTIONS"],
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    assert deliver("sumsub", body, headers).status_code == 200

    event = WebhookEvent.objects.get()
    assert event.outcome == Outcome.INVALID
    assert event.error == "completed RED with reviewRejectType None."
    assert event.client == sumsub_applicant.client
    assert reviews.calls == []


def test_sumsub_informational_events_carry_no_verdict(deliver, sumsub_applicant, reviews):
    body, headers = fakes.sumsub_webhook(
        type="applicantTagsChanged", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    assert reviews.calls == []
    assert WebhookEvent.objects.get().outcome == Outcome.IGNORED


def test_sumsub_personal_info_changed_asks_for_a_refetch(deliver, sumsub_applicant, reviews, queue):
    body, headers = fakes.sumsub_webhook(
        type="applicantPersonalInfoChanged", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    assert reviews.calls == []
    assert ("kyc.providers.tasks.refresh_applicant", [sumsub_applicant.pk], "default") in queue


def test_the_applicant_id_is_learnt_from_the_first_webhook(deliver, sumsub_applicant, reviews):
    body, headers = fakes.sumsub_webhook(
        type="applicantCreated", review_status="init", applicant_id="66aa00bb11cc22dd33ee44ff",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    deliver("sumsub", body, headers)

    sumsub_applicant.refresh_from_db()
    assert sumsub_applicant.applicant_id == "66aa00bb11cc22dd33ee44ff"


# --- Sumsub: delivery semantics -------------------------------------------------------------
def test_the_answer_comes_before_processing_which_is_queued_on_default(
    deliver, sumsub_applicant, reviews, queue
):
    body, headers = fakes.sumsub_webhook(
        type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    response = deliver("sumsub", body, headers, run=False)

    event = WebhookEvent.objects.get()
    assert response.status_code == 200
    assert event.outcome == Outcome.PENDING and reviews.calls == []
    assert queue == [("kyc.providers.tasks.process_webhook_event", [event.pk], "default")]


def test_a_duplicate_delivery_is_answered_200_and_processed_once(
    deliver, sumsub_applicant, reviews, queue
):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    first = deliver("sumsub", body, headers)
    # Sumsub's retry of the same event: same applicantId, type and createdAtMs, though its
    # correlationId (and so its bytes) may differ.
    again = json.loads(body)
    again["correlationId"] = "req-another-attempt"
    again_body = json.dumps(again, indent=2).encode()
    second = deliver("sumsub", again_body, fakes.sumsub_sign(again_body))

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == {"ok": True, "duplicate": True}
    assert WebhookEvent.objects.count() == 1
    assert len(reviews.calls) == 1
    assert len(queue) == 1


def test_a_task_run_twice_processes_the_event_once(deliver, sumsub_applicant, reviews):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    deliver("sumsub", body, headers)
    event = WebhookEvent.objects.get()

    services.webhook_event_process(event_id=event.pk)

    assert len(reviews.calls) == 1
    event.refresh_from_db()
    assert event.attempts == 1


def test_an_older_event_after_a_newer_one_is_recorded_and_ignored(
    deliver, sumsub_applicant, reviews
):
    newer_body, newer_headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN", created_at=fakes.later(T0, 60),
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    older_body, older_headers = fakes.sumsub_webhook(
        type="applicantPending", review_status="pending", created_at=T0,
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    assert deliver("sumsub", newer_body, newer_headers).status_code == 200
    assert deliver("sumsub", older_body, older_headers).status_code == 200

    assert [c["state"] for c in reviews.calls] == ["approved"]
    older = WebhookEvent.objects.get(event_type="applicantPending")
    assert older.outcome == Outcome.STALE
    assert older.error == "Older than the last processed event (approved)."
    sumsub_applicant.refresh_from_db()
    assert sumsub_applicant.last_event_at == fakes.later(T0, 60)
    assert sumsub_applicant.last_state == "approved"


def test_events_in_order_are_all_processed(deliver, sumsub_applicant, reviews):
    steps = [
        ("applicantCreated", {"review_status": "init"}),
        ("applicantPending", {"review_status": "pending"}),
        ("applicantReviewed", {"review_answer": "RED", "reject_type": "RETRY"}),
        ("applicantReset", {"review_status": "init"}),
        ("applicantPending", {"review_status": "pending"}),
        ("applicantReviewed", {"review_answer": "GREEN"}),
    ]
    for seconds, (event_type, fields) in enumerate(steps):
        body, headers = fakes.sumsub_webhook(
            type=event_type, created_at=fakes.later(T0, seconds),
            external_user_id=sumsub_applicant.external_id, **fields,
        )  # fmt: skip
        deliver("sumsub", body, headers)

    assert [c["state"] for c in reviews.calls] == [
        "docs_requested", "submitted", "resubmit", "docs_requested", "submitted", "approved",
    ]  # fmt: skip


def test_an_unknown_client_reference_is_stored_marked_and_answered_200(deliver, reviews):
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN", external_user_id="nobody-we-know",
    )  # fmt: skip

    response = deliver("sumsub", body, headers)

    assert response.status_code == 200
    event = WebhookEvent.objects.get()
    assert event.outcome == Outcome.UNKNOWN_CLIENT
    assert event.client is None
    assert "nobody-we-know" in event.error
    assert reviews.calls == []


def test_an_integer_created_at_ms_is_read_too(deliver, sumsub_applicant, reviews):
    payload = fakes.sumsub_payload(
        type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    payload["createdAtMs"] = 1763632800123
    body = json.dumps(payload).encode()

    deliver("sumsub", body, fakes.sumsub_sign(body))

    event = WebhookEvent.objects.get()
    assert event.occurred_at == datetime(2025, 11, 20, 10, 0, 0, 123000, tzinfo=UTC)
    assert event.dedupe_key == "6650a1b2c3d4e5f60718293a|applicantPending|1763632800123"


def test_a_failing_case_update_rolls_back_marks_failed_and_succeeds_on_retry(
    deliver, sumsub_applicant, reviews
):
    reviews.fail_with = RuntimeError("case locked")
    body, headers = fakes.sumsub_webhook(
        type="applicantReviewed", review_answer="GREEN",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip

    with pytest.raises(RuntimeError):
        deliver("sumsub", body, headers)

    event = WebhookEvent.objects.get()
    assert event.outcome == Outcome.FAILED
    assert event.error == "RuntimeError: case locked"
    sumsub_applicant.refresh_from_db()
    assert sumsub_applicant.last_state == ""  # rolled back with the failed attempt

    reviews.fail_with = None
    services.webhook_event_process(event_id=event.pk)

    event.refresh_from_db()
    assert (event.outcome, event.error) == (Outcome.PROCESSED, "")
    assert [c["state"] for c in reviews.calls] == ["approved"]


def test_pending_events_left_behind_are_requeued(deliver, sumsub_applicant, queue):
    from datetime import timedelta

    body, headers = fakes.sumsub_webhook(
        type="applicantPending", review_status="pending",
        external_user_id=sumsub_applicant.external_id,
    )  # fmt: skip
    deliver("sumsub", body, headers, run=False)
    event = WebhookEvent.objects.get()
    queue.clear()

    assert services.webhook_events_requeue(older_than=timedelta(minutes=5)) == 0
    assert services.webhook_events_requeue(older_than=timedelta(seconds=-1)) == 1
    assert queue == [("kyc.providers.tasks.process_webhook_event", [event.pk], "default")]


# --- Shufti Pro ----------------------------------------------------------------------------
def test_shufti_signature_verifies_over_the_raw_bytes_with_php_escapes(
    deliver, shufti_applicant, reviews
):
    body, headers = fakes.shufti_webhook(
        reference=shufti_applicant.external_id, event="verification.declined"
    )
    assert b"https:\\/\\/ns.shuftipro.com\\/api" in body
    assert b"C\\u00f4te d'Ivoire" in body
    # The same JSON re-serialised is other bytes, whose signature would not match.
    redumped = json.dumps(json.loads(body)).encode()
    assert fakes.shufti_sign(redumped)["Signature"] != headers["Signature"]

    response = deliver("shuftipro", body, headers)

    assert response.status_code == 200
    assert bytes(WebhookEvent.objects.get().raw_body) == body


def test_shufti_tampered_or_unsigned_callbacks_are_401(deliver, shufti_applicant):
    body, headers = fakes.shufti_webhook(
        reference=shufti_applicant.external_id, event="verification.accepted"
    )
    tampered = body.replace(b"verification.accepted", b"verification.accepteD")

    assert deliver("shuftipro", tampered, headers).status_code == 401
    assert deliver("shuftipro", body, {}).status_code == 401
    assert not WebhookEvent.objects.exists()


def test_shufti_older_signature_scheme_is_a_setting(deliver, settings, shufti_applicant, reviews):
    body, old_headers = fakes.shufti_webhook(
        reference=shufti_applicant.external_id, event="request.received", scheme="plain-secret"
    )

    assert deliver("shuftipro", body, old_headers).status_code == 401
    settings.SHUFTIPRO_SIGNATURE_SCHEME = "plain-secret"
    assert deliver("shuftipro", body, old_headers).status_code == 200
    assert deliver("shuftipro", body, fakes.shufti_sign(body)).status_code == 401


@pytest.mark.parametrize(
    ("event", "state"),
    [
        ("request.pending", "docs_requested"),
        ("request.received", "submitted"),
        ("review.pending", "under_review"),
        ("verification.accepted", "approved"),
        ("verification.declined", "rejected"),
        ("request.timeout", "expired"),
        ("verification.cancelled", "cancelled"),
    ],
)
def test_shufti_events_map_onto_our_states(deliver, shufti_applicant, reviews, event, state):
    body, headers = fakes.shufti_webhook(reference=shufti_applicant.external_id, event=event)

    deliver("shuftipro", body, headers)

    (call,) = reviews.calls
    assert (call["client"], call["provider"], call["state"]) == (
        shufti_applicant.client,
        "shuftipro",
        state,
    )
    stored = WebhookEvent.objects.get()
    assert (stored.outcome, stored.state, stored.event_type) == (Outcome.PROCESSED, state, event)
    assert call["event_id"] == stored.pk


def test_shufti_declined_passes_codes_reason_and_background_check_failure(
    deliver, shufti_applicant, reviews
):
    body, headers = fakes.shufti_webhook(
        reference=shufti_applicant.external_id, event="verification.declined",
        declined_codes=["SPDR07", "SPDR40"], declined_reason="Le visage ne correspond pas.",
        background_checks=0,
    )  # fmt: skip

    deliver("shuftipro", body, headers)

    (call,) = reviews.calls
    assert call["state"] == "rejected"
    assert call["reasons"] == ["SPDR07", "SPDR40"]
    assert call["client_message"] == "Le visage ne correspond pas."
    assert call["aml_labels"] == ["BACKGROUND_CHECKS"]


def test_shufti_progress_after_a_verdict_is_stale(deliver, shufti_applicant, reviews):
    ref = shufti_applicant.external_id
    deliver("shuftipro", *fakes.shufti_webhook(reference=ref, event="verification.accepted"))
    deliver("shuftipro", *fakes.shufti_webhook(reference=ref, event="request.received"))

    assert [c["state"] for c in reviews.calls] == ["approved"]
    assert WebhookEvent.objects.get(event_type="request.received").outcome == Outcome.STALE


def test_shufti_a_changed_decision_still_applies(deliver, shufti_applicant, reviews):
    ref = shufti_applicant.external_id
    deliver("shuftipro", *fakes.shufti_webhook(reference=ref, event="verification.accepted"))
    deliver("shuftipro", *fakes.shufti_webhook(reference=ref, event="verification.declined"))

    assert [c["state"] for c in reviews.calls] == ["approved", "rejected"]


def test_shufti_redelivery_is_processed_once(deliver, shufti_applicant, reviews):
    body, headers = fakes.shufti_webhook(
        reference=shufti_applicant.external_id, event="verification.accepted"
    )

    responses = [deliver("shuftipro", body, headers) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert WebhookEvent.objects.count() == 1
    assert len(reviews.calls) == 1


def test_shufti_status_changed_asks_for_a_refetch(deliver, shufti_applicant, reviews, queue):
    deliver(
        "shuftipro",
        *fakes.shufti_webhook(
            reference=shufti_applicant.external_id, event="verification.status.changed"
        ),
    )

    assert reviews.calls == []
    assert WebhookEvent.objects.get().outcome == Outcome.IGNORED
    assert ("kyc.providers.tasks.refresh_applicant", [shufti_applicant.pk], "default") in queue


def test_shufti_unknown_reference_is_stored_and_answered_200(deliver, reviews):
    response = deliver(
        "shuftipro", *fakes.shufti_webhook(reference="not-ours-123", event="verification.accepted")
    )

    assert response.status_code == 200
    assert WebhookEvent.objects.get().outcome == Outcome.UNKNOWN_CLIENT
    assert reviews.calls == []


def test_an_unknown_provider_has_no_webhook(client):
    assert (
        client.post("/webhooks/onfido/", data=b"{}", content_type="application/json").status_code
        == 404
    )
