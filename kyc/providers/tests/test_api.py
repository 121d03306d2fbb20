"""The providers' APIs, through httpx.MockTransport: no test reaches the network."""
# ruff: noqa: S105, S106  (test secrets)

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable

import httpx
import pytest

from kyc.providers import registry, services
from kyc.providers.backends import shuftipro, sumsub
from kyc.providers.base import Provider, ProviderAPIError, Review, Start
from kyc.providers.models import ProviderApplicant
from kyc.providers.tests import fakes

pytestmark = pytest.mark.django_db

Handler = Callable[[httpx.Request], httpx.Response]
FIXED_TS = 1732500000


def mocked(cls: type[Provider], handler: Handler) -> Provider:
    """The provider as configured by settings, its HTTP going to `handler`."""
    plain = cls()
    return cls(
        http=httpx.Client(
            base_url=plain.base_url(), auth=plain.auth(), transport=httpx.MockTransport(handler)
        )
    )


@pytest.fixture
def use_provider(monkeypatch):
    """services.provider_get hands out fresh mocked instances (each is closed after use)."""

    def install(cls: type[Provider], handler: Handler) -> None:
        monkeypatch.setattr(services, "provider_get", lambda name: mocked(cls, handler))

    return install


# --- Sumsub request signing ----------------------------------------------------------------
def test_sumsub_request_signature_matches_a_vector_computed_by_the_documented_rule():
    # printf '%s' '1732500000POST/resources/accessTokens/sdk{"userId":...}' |
    #   openssl dgst -sha256 -hmac 'Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq'
    body = b'{"userId":"4f1c2e","levelName":"basic-kyc-level","ttlInSecs":1800}'
    assert (
        sumsub.request_signature(
            secret="Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq",
            ts="1732500000",
            method="POST",
            path="/resources/accessTokens/sdk",
            body=body,
        )
        == "e6d043928ab5d7c4bb35a780bf46049337749e6375ed11f4e156081917db9af0"
    )
    assert (
        sumsub.request_signature(
            secret="Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq",
            ts="1732500000",
            method="get",
            path="/resources/applicants/-;externalUserId=4f1c2e/one",
            body=b"",
        )
        == "8eb37deba0719373c23e53d80cd07f6dce0f26209b06a3be72b3a4c2cc958edc"
    )


def test_sumsub_start_sends_a_signed_request_and_returns_an_sdk_token(
    monkeypatch, kyc_client, use_provider
):
    monkeypatch.setattr(sumsub.time, "time", lambda: FIXED_TS + 0.9)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"token": "_act-sbx-jwt-token", "userId": "4f1c2e"})

    use_provider(sumsub.Sumsub, handler)
    ProviderApplicant.objects.create(provider="sumsub", client=kyc_client, external_id="4f1c2e")

    start = services.provider_verification_start(client=kyc_client, provider_name="sumsub")

    assert start == Start(
        provider="sumsub",
        reference="4f1c2e",
        sdk_token="_act-sbx-jwt-token",
        level_name="basic-kyc-level",
    )
    (request,) = seen
    assert (request.method, str(request.url)) == (
        "POST",
        "https://sumsub.invalid/resources/accessTokens/sdk",
    )
    assert request.content == (
        b'{"userId":"4f1c2e","levelName":"basic-kyc-level","ttlInSecs":1800}'
    )
    assert request.headers["X-App-Token"] == "sbx:test-app-token"
    assert request.headers["X-App-Access-Ts"] == "1732500000"
    assert (
        request.headers["X-App-Access-Sig"]
        == "e6d043928ab5d7c4bb35a780bf46049337749e6375ed11f4e156081917db9af0"
    )
    assert ProviderApplicant.objects.get().level_name == "basic-kyc-level"


def test_sumsub_reuses_the_clients_reference_across_attempts(kyc_client, use_provider):
    users = []

    def handler(request: httpx.Request) -> httpx.Response:
        users.append(json.loads(request.content)["userId"])
        return httpx.Response(200, json={"token": "t", "userId": users[-1]})

    use_provider(sumsub.Sumsub, handler)

    first = services.provider_verification_start(client=kyc_client, provider_name="sumsub")
    second = services.provider_verification_start(client=kyc_client, provider_name="sumsub")

    assert first.reference == second.reference == users[0] == users[1]
    assert ProviderApplicant.objects.count() == 1
    assert len(first.reference) == 32  # random, not our primary key


def test_sumsub_api_errors_are_raised_with_the_answer(kyc_client, use_provider):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"description": "App token is invalid", "code": 401})

    use_provider(sumsub.Sumsub, handler)

    with pytest.raises(ProviderAPIError, match="answered 401: .*App token is invalid"):
        services.provider_verification_start(client=kyc_client, provider_name="sumsub")


def test_sumsub_fetch_status_by_applicant_id_or_by_our_reference(sumsub_applicant):
    paths = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        assert "X-App-Access-Sig" in request.headers
        review = {
            "reviewStatus": "completed",
            "reviewResult": {
                "reviewAnswer": "RED",
                "reviewRejectType": "FINAL",
                "rejectLabels": ["SANCTIONS"],
                "moderationComment": "We could not verify you.",
            },
        }
        if request.url.path.endswith("/one"):
            return httpx.Response(200, json={"id": "66aa", "review": review})
        return httpx.Response(200, json=review)

    provider = mocked(sumsub.Sumsub, handler)
    expected = Review(
        state="rejected",
        reasons=["SANCTIONS"],
        aml_labels=["SANCTIONS"],
        client_message="We could not verify you.",
    )

    assert provider.fetch_status(applicant=sumsub_applicant) == expected
    sumsub_applicant.applicant_id = "66aa00bb11cc22dd33ee44ff"
    assert provider.fetch_status(applicant=sumsub_applicant) == expected
    assert paths == [
        f"/resources/applicants/-;externalUserId={sumsub_applicant.external_id}/one",
        "/resources/applicants/66aa00bb11cc22dd33ee44ff/status",
    ]


# --- Shufti Pro API ------------------------------------------------------------------------
def shufti_answer(payload: dict, *, signed: bool = True) -> httpx.Response:
    body = fakes.php_json(payload)
    headers = {"Content-Type": "application/json"}
    if signed:
        headers["Signature"] = fakes.shufti_sign(body)["Signature"]
    return httpx.Response(200, content=body, headers=headers)


def test_shufti_start_returns_the_verification_url_with_a_fresh_reference_each_time(
    kyc_client, use_provider
):
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        reference = json.loads(request.content)["reference"]
        return shufti_answer(
            {
                "reference": reference,
                "event": "request.pending",
                "verification_url": f"https://app.shuftipro.com/verification/process/{reference}",
                "email": kyc_client.user.email,
                "country": "DE",
            }
        )

    use_provider(shuftipro.ShuftiPro, handler)

    first = services.provider_verification_start(client=kyc_client, provider_name="shuftipro")
    second = services.provider_verification_start(client=kyc_client, provider_name="shuftipro")

    assert first.url == f"https://app.shuftipro.com/verification/process/{first.reference}"
    assert first.reference != second.reference
    assert ProviderApplicant.objects.filter(provider="shuftipro").count() == 2
    sent = json.loads(requests[0].content)
    assert sent["reference"] == first.reference
    assert sent["email"] == kyc_client.user.email
    assert sent["country"] == "DE"
    assert sent["callback_url"] == "https://crm.example.test/webhooks/shuftipro/"
    credentials = base64.b64encode(b"shufti-client-id:" + fakes.SHUFTI_SECRET_KEY.encode())
    assert requests[0].headers["Authorization"] == f"Basic {credentials.decode()}"
    assert str(requests[0].url) == "https://shufti.invalid/"


def test_shufti_answer_without_a_valid_signature_is_refused(kyc_client, use_provider):
    def handler(request: httpx.Request) -> httpx.Response:
        reference = json.loads(request.content)["reference"]
        return shufti_answer(
            {"reference": reference, "event": "request.pending", "verification_url": "https://x/"},
            signed=False,
        )

    use_provider(shuftipro.ShuftiPro, handler)

    with pytest.raises(ProviderAPIError, match="without a valid Signature"):
        services.provider_verification_start(client=kyc_client, provider_name="shuftipro")


def test_shufti_fetch_status_posts_the_reference(shufti_applicant):
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.url.path) == ("POST", "/status")
        assert json.loads(request.content) == {"reference": shufti_applicant.external_id}
        return shufti_answer(
            fakes.shufti_payload(
                reference=shufti_applicant.external_id,
                event="verification.declined",
                declined_codes=["SPDR19"],
                declined_reason="Document expiré.",
            )
        )

    provider = mocked(shuftipro.ShuftiPro, handler)

    assert provider.fetch_status(applicant=shufti_applicant) == Review(
        state="rejected", reasons=["SPDR19"], client_message="Document expiré."
    )


# --- refreshing a stuck applicant ----------------------------------------------------------
def test_refresh_reports_a_new_state_once(shufti_applicant, reviews, use_provider):
    def handler(request: httpx.Request) -> httpx.Response:
        return shufti_answer(
            fakes.shufti_payload(
                reference=shufti_applicant.external_id, event="verification.accepted"
            )
        )

    use_provider(shuftipro.ShuftiPro, handler)

    services.provider_applicant_refresh(applicant_id=shufti_applicant.pk)
    services.provider_applicant_refresh(applicant_id=shufti_applicant.pk)

    assert reviews.calls == [
        {
            "client": shufti_applicant.client,
            "provider": "shuftipro",
            "state": "approved",
            "reasons": [],
            "aml_labels": [],
            "client_message": "",
            "event_id": None,
        }
    ]
    shufti_applicant.refresh_from_db()
    assert shufti_applicant.last_state == "approved"


def test_the_refresh_task_calls_the_service(monkeypatch, shufti_applicant):
    from kyc.providers import tasks

    called = []
    monkeypatch.setattr(
        services, "provider_applicant_refresh", lambda *, applicant_id: called.append(applicant_id)
    )
    tasks.refresh_applicant(shufti_applicant.pk)
    assert called == [shufti_applicant.pk]


# --- registry ------------------------------------------------------------------------------
def test_the_registry_knows_both_providers():
    assert registry.provider_names() == ["shuftipro", "sumsub"]
    assert isinstance(registry.provider_get("sumsub"), sumsub.Sumsub)
    with pytest.raises(registry.UnknownProvider):
        registry.provider_get("onfido")


def test_a_third_provider_is_one_new_module(tmp_path, monkeypatch):
    from kyc.providers import backends

    (tmp_path / "acmeid.py").write_text(
        "from kyc.providers.base import Provider\n"
        "class AcmeId(Provider):\n"
        "    name = 'acmeid'\n"
        "    def verify_webhook(self, *, body, headers): pass\n"
        "    def parse_webhook(self, *, body): pass\n"
        "    def review_from_webhook(self, *, body): pass\n"
        "    def start_verification(self, *, client, applicant): pass\n"
        "    def fetch_status(self, *, applicant): pass\n"
    )
    monkeypatch.setattr(backends, "__path__", [*backends.__path__, str(tmp_path)])
    registry.provider_classes.cache_clear()
    try:
        assert registry.provider_names() == ["acmeid", "shuftipro", "sumsub"]
        assert registry.provider_get("acmeid").name == "acmeid"
    finally:
        sys.modules.pop("kyc.providers.backends.acmeid", None)
        monkeypatch.undo()
        registry.provider_classes.cache_clear()


def test_stuck_applicants_are_polled_but_not_final_or_abandoned_ones(kyc_client, queue):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()

    def applicant(state: str, *, quiet_days: float, age_days: float) -> ProviderApplicant:
        made = ProviderApplicant.objects.create(provider="sumsub", client=kyc_client)
        ProviderApplicant.objects.filter(pk=made.pk).update(
            last_state=state,
            updated_at=now - timedelta(days=quiet_days),
            created_at=now - timedelta(days=age_days),
        )
        return made

    stuck = applicant("submitted", quiet_days=2, age_days=3)
    never_heard = applicant("", quiet_days=2, age_days=2)
    applicant("approved", quiet_days=2, age_days=3)
    applicant("under_review", quiet_days=0.5, age_days=3)
    applicant("docs_requested", quiet_days=40, age_days=40)

    assert services.provider_applicants_refresh_stuck() == 2
    assert queue == [
        ("kyc.providers.tasks.refresh_applicant", [stuck.pk], "default"),
        ("kyc.providers.tasks.refresh_applicant", [never_heard.pk], "default"),
    ]


def test_a_refresh_with_no_news_still_quiets_the_applicant(shufti_applicant, reviews, use_provider):
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(days=3)
    ProviderApplicant.objects.filter(pk=shufti_applicant.pk).update(
        last_state="submitted", updated_at=old
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return shufti_answer(
            fakes.shufti_payload(reference=shufti_applicant.external_id, event="request.received")
        )

    use_provider(shuftipro.ShuftiPro, handler)

    services.provider_applicant_refresh(applicant_id=shufti_applicant.pk)

    assert reviews.calls == []
    shufti_applicant.refresh_from_db()
    assert shufti_applicant.updated_at > old
