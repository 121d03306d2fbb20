# ruff: noqa: S105, S106  (test secrets)
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kyc import hooks
from kyc.providers import tasks
from kyc.providers.models import ProviderApplicant
from kyc.providers.tests import fakes
from tests.factories import ClientFactory


@pytest.fixture(autouse=True)
def provider_settings(settings):
    settings.SUMSUB_WEBHOOK_SECRET = fakes.SUMSUB_WEBHOOK_SECRET
    settings.SUMSUB_APP_TOKEN = "sbx:test-app-token"
    settings.SUMSUB_SECRET_KEY = "Hej2ch71kG2kTd1iIUDZFNsO5C1lh5Gq"
    settings.SUMSUB_BASE_URL = "https://sumsub.invalid"
    settings.SHUFTIPRO_CLIENT_ID = "shufti-client-id"
    settings.SHUFTIPRO_SECRET_KEY = fakes.SHUFTI_SECRET_KEY
    settings.SHUFTIPRO_SIGNATURE_SCHEME = "hashed-secret"
    settings.SHUFTIPRO_BASE_URL = "https://shufti.invalid"
    settings.SHUFTIPRO_CALLBACK_URL = "https://crm.example.test/webhooks/shuftipro/"
    return settings


@dataclass
class Reviews:
    """kyc.hooks.provider_review, recorded instead of run."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(self, **kwargs: Any) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append(kwargs)


@pytest.fixture
def reviews(monkeypatch) -> Reviews:
    recorder = Reviews()
    monkeypatch.setattr(hooks, "provider_review", recorder)
    return recorder


@pytest.fixture
def queue(monkeypatch) -> list[tuple[str, list[Any], str]]:
    """Tasks enqueued (after commit), as (task name, args, queue); nothing runs by itself."""
    sent: list[tuple[str, list[Any], str]] = []
    for task in (tasks.process_webhook_event, tasks.refresh_applicant):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda args, queue, _name=task.name: sent.append((_name, list(args), queue)),
        )
    return sent


@pytest.fixture
def deliver(client, queue, django_capture_on_commit_callbacks):
    """POST a webhook as the provider does, then run the processing task it enqueued."""

    def post(provider: str, body: bytes, headers: dict[str, str], *, run: bool = True):
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        already = len(queue)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/webhooks/{provider}/",
                data=body,
                content_type="application/json",
                headers=headers,
            )
        if run:
            for name, args, _queue in queue[already:]:
                if name == tasks.process_webhook_event.name:
                    with django_capture_on_commit_callbacks(execute=True):
                        tasks.process_webhook_event(*args)
        return response

    return post


@pytest.fixture
def kyc_client(db):
    return ClientFactory()


@pytest.fixture
def sumsub_applicant(kyc_client) -> ProviderApplicant:
    return ProviderApplicant.objects.create(
        provider="sumsub", client=kyc_client, level_name="basic-kyc-level"
    )


@pytest.fixture
def shufti_applicant(kyc_client) -> ProviderApplicant:
    return ProviderApplicant.objects.create(provider="shuftipro", client=kyc_client)
