from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.management import call_command
from pghistory.models import MiddlewareEvents

from brokerage import roles
from brokerage.models import User
from clients.models import Client, TradingAccount
from kyc.models import AmlCase, KycCase
from kyc.screening.models import Screening
from partners.models import Attribution, Partner
from tests.factories import ClientFactory, login_staff, make_staff
from wallets.ledger.selectors import ledger_violations
from wallets.models import Entry, FxRate, Journal, LedgerAccount, ManualAdjustment

pytestmark = pytest.mark.django_db


def test_sign_up_creates_a_client_and_sends_a_verification_email(client):
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New.Trader@Example.test",
            "password1": "a-long-pass-2026",
            "password2": "a-long-pass-2026",
            "first_name": "Ana",
            "last_name": "Lima",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.trader@example.test")
    assert (user.first_name, user.last_name) == ("Ana", "Lima")
    assert Client.objects.filter(user=user, status=Client.Status.REGISTERED).exists()
    assert len(mail.outbox) == 1
    assert re.search(r"/accounts/confirm-email/\S+/", mail.outbox[0].body)


def test_login_is_refused_until_the_email_is_verified(client):
    client.post(
        "/accounts/signup/",
        {
            "email": "t@example.test",
            "password1": "a-long-pass-2026",
            "password2": "a-long-pass-2026",
            "first_name": "Ana",
            "last_name": "Lima",
        },
    )
    client.logout()
    response = client.post(
        "/accounts/login/", {"login": "t@example.test", "password": "a-long-pass-2026"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/confirm-email/"
    assert client.get("/portal/").status_code == 302  # still not signed in


def test_signup_form_shows_field_errors_and_keeps_the_email(client):
    response = client.post(
        "/accounts/signup/",
        {"email": "x@example.test", "password1": "short", "password2": "short", "first_name": "Xi"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "This password is too short" in body
    assert body.count("This field is required.") == 1  # the missing last name
    assert 'value="Xi"' in body
    assert 'value="x@example.test"' in body


def test_repeated_failed_logins_are_locked_out(client, settings):
    user = ClientFactory().user
    responses = [
        client.post("/accounts/login/", {"login": user.email, "password": "wrong-password"})
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert responses[-1].status_code == 429
    assert b"Too many failed log-ins" in responses[-1].content
    # Even the right password does not get in while locked out.
    client.post("/accounts/login/", {"login": user.email, "password": "correct-horse-battery-9"})
    assert "_auth_user_id" not in client.session


def test_changes_are_audited_with_who_and_from_where(client):
    admin = make_staff(roles.ADMIN)
    trader = ClientFactory()
    login_staff(client, admin)
    # A change made inside a request carries the request's context.
    from pghistory import context

    with context(user=admin.pk, url="/backoffice/clients/1/", ip="203.0.113.9"):
        trader.status = Client.Status.ACTIVE
        trader.save()
    event = MiddlewareEvents.objects.filter(
        pgh_obj_model="clients.Client", pgh_obj_id=str(trader.pk), pgh_label="update"
    ).get()
    assert event.pgh_diff == {"status": ["registered", "active"]}
    assert event.pgh_context["ip"] == "203.0.113.9"

    page = client.get(f"/backoffice/audit/?model=clients.Client&object_id={trader.pk}")
    body = page.content.decode()
    assert "registered → active" in body
    assert admin.email in body
    assert "203.0.113.9" in body


def test_the_audit_middleware_records_the_request(client):
    """A real request: the middleware, not the test, supplies user, IP and path."""
    from allauth.account.models import EmailAddress

    client.post(
        "/accounts/signup/",
        {
            "email": "audited@example.test",
            "password1": "a-long-pass-2026",
            "password2": "a-long-pass-2026",
            "first_name": "Ana",
            "last_name": "Lima",
        },
        REMOTE_ADDR="198.51.100.7",
    )
    user = User.objects.get(email="audited@example.test")
    created = MiddlewareEvents.objects.filter(
        pgh_obj_model="clients.Client", pgh_label="insert"
    ).get()
    assert created.pgh_context["ip"] == "198.51.100.7"
    assert created.pgh_context["url"] == "/accounts/signup/"
    assert EmailAddress.objects.filter(user=user, verified=False).exists()


def test_audit_filter_by_user_via_htmx_returns_only_the_table(client):
    auditor = make_staff(roles.AUDITOR)
    login_staff(client, auditor)
    response = client.get("/backoffice/audit/?user=999999", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="results">')
    assert "No changes recorded for this filter." in body


def test_seed_demo_is_idempotent(settings):
    settings.SEED_DEMO_ALLOWED = True
    call_command("seed_demo", quiet_logins=True)
    first = _snapshot()
    call_command("seed_demo", quiet_logins=True)
    assert _snapshot() == first
    assert first["staff"] == 10
    assert first["clients"] == 42  # 40 traders and DEMO.md's two screening stories
    # The simulator's eight traders belong to verified demo clients.
    assert [login for login, _ in first["trading"]] == list(range(100000, 100008))
    assert first["partners"] == 5  # DEMO.md's four IBs and one application to decide
    kite = Partner.objects.get(name="Kite FX Academy")
    assert kite.parent.name == "Harbor Trading Club"
    assert kite.parent.parent.name == "Atlas Partners"
    for role in roles.ROLES:
        assert User.objects.filter(groups__name=role, is_staff=True).exists(), role
    # Money: wallets in USD, EUR and USDT with statements, rates, and the maker-checker story.
    liam = Client.objects.get(user__email="liam.novak00@traders.meridian.test")
    assert set(
        LedgerAccount.objects.filter(client=liam, kind="wallet").values_list(
            "currency_id", flat=True
        )
    ) == {"USD", "EUR", "USDT"}
    assert Entry.objects.filter(account__client=liam).count() >= 5
    assert Journal.objects.filter(kind="conversion").exists()
    assert {("USD", "EUR"), ("EUR", "USD"), ("USD", "USDT"), ("USDT", "USD")} <= set(
        FxRate.objects.values_list("base_id", "quote_id")
    )
    [waiting] = ManualAdjustment.objects.filter(status="pending")
    assert waiting.requested_by.email == "finance@meridian.test"
    assert dict(ManualAdjustment.objects.values_list("status", "decided_by__email")) == {
        "pending": None,
        "approved": "finance@meridian.test",
        "rejected": "finance2@meridian.test",
    }
    assert ledger_violations() == {}


def _snapshot() -> dict:
    return {
        "journals": sorted(
            Journal.objects.values_list("source", "idempotency_key", "request_hash", "effective_at")
        ),
        "balances": sorted(
            LedgerAccount.objects.values_list("code", "credits_posted", "debits_posted", "version")
        ),
        "entries": Entry.objects.count(),
        "fx_rates": sorted(FxRate.objects.values_list("base_id", "quote_id", "rate", "markup")),
        "adjustments": sorted(
            ManualAdjustment.objects.values_list(
                "reason_text", "status", "amount", "requested_by__email", "journal_id"
            )
        ),
        "staff": User.objects.filter(is_staff=True).count(),
        "clients": Client.objects.count(),
        "partners": Partner.objects.count(),
        "attributions": sorted(
            Attribution.objects.values_list("client__user__email", "partner__name", "valid_from")
        ),
        "kyc": sorted(KycCase.objects.values_list("client__user__email", "state", "level")),
        "aml": sorted(AmlCase.objects.values_list("client__user__email", "reference", "status")),
        "screenings": Screening.objects.count(),
        "trading": sorted(TradingAccount.objects.values_list("login", "client__user__email")),
        "rows": sorted(
            Client.objects.values_list(
                "user__email", "created_at", "assigned_agent__email", "country"
            )
        ),
        "secrets": sorted(
            (e, str(d))
            for e, d in User.objects.filter(is_staff=True).values_list(
                "email", "authenticator__data"
            )
        ),
    }


def test_seed_demo_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="runs only with DEBUG on"):
        call_command("seed_demo")


def test_the_demo_has_a_client_held_by_screening_and_a_near_miss_that_passes(settings):
    settings.SEED_DEMO_ALLOWED = True
    call_command("seed_demo", quiet_logins=True)
    held = Client.objects.get(user__email="mousa.marzook@traders.meridian.test")
    [aml] = AmlCase.objects.filter(client=held)
    assert aml.status == "open" and "ABU MARZOOK" in aml.summary.upper()
    near_miss = Client.objects.get(user__email="omar.nasrallah@traders.meridian.test")
    assert not AmlCase.objects.filter(client=near_miss).exists()
    assert Screening.objects.get(client=near_miss).decision == "clear"
    # Every trader has a case; the funnel has every stage to show.
    assert (
        KycCase.objects.filter(client__user__email__endswith="@traders.meridian.test").count() == 42
    )
    assert set(KycCase.objects.values_list("state", flat=True)) >= {
        "docs_requested",
        "submitted",
        "approved",
        "rejected",
        "resubmit",
    }
