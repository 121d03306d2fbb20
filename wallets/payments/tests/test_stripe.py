"""Stripe Checkout: the session we ask a (local) Stripe API for, and Stripe's webhooks signed
with its own scheme (t=...,v1=...) and verified by the stripe package's construct_event."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
import stripe

from brokerage import roles
from kyc.models import AmlCase
from tests.factories import make_staff
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import wallet_for_client
from wallets.models import Journal
from wallets.payments.models import Deposit, PaymentEvent, PaymentMethod
from wallets.payments.services import deposit_create, deposit_refund

from .conftest import post_webhook

pytestmark = pytest.mark.django_db
D = Decimal
SECRET = "whsec_test_secret"


class StubStripe:
    """A tiny Stripe API: POST /v1/checkout/sessions and /v1/refunds, answered in Stripe's
    JSON; every request is recorded (path, headers, form fields)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                stub.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "form": form}
                )
                if self.path == "/v1/checkout/sessions":
                    ref = form["client_reference_id"][0]
                    answer = {
                        "id": f"cs_test_{ref}",
                        "object": "checkout.session",
                        "url": f"https://checkout.stripe.com/c/pay/cs_test_{ref}",
                        "payment_status": "unpaid",
                        "status": "open",
                    }
                else:
                    answer = {"id": "re_test_1", "object": "refund", "status": "succeeded"}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub(settings) -> Iterator[StubStripe]:
    server = StubStripe()
    settings.STRIPE_SECRET_KEY = "sk_test_123"
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_API_BASE = server.url
    yield server
    server.close()


@pytest.fixture
def method(db) -> PaymentMethod:
    return PaymentMethod.objects.create(
        code="card-stripe",
        name="Card (Stripe)",
        provider="stripe",
        currencies=["USD", "EUR"],
        fee_fixed=D("0.30"),
        fee_percent=D("2.9"),
    )


@pytest.fixture
def session(stub, trader, method) -> Deposit:
    return deposit_create(client=trader, method=method, currency="USD", amount=D("100"))


def _signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    return body.encode(), {"Stripe-Signature": header}


def _event(type_: str, obj: dict[str, Any], event_id: str = "") -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{type_}_{time.monotonic_ns()}",
        "object": "event",
        "type": type_,
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
    }


def _session_object(deposit: Deposit, **fields: Any) -> dict[str, Any]:
    return {
        "id": deposit.provider_ref,
        "object": "checkout.session",
        "client_reference_id": str(deposit.pk),
        "metadata": {"deposit_id": str(deposit.pk)},
        "amount_total": 10000,
        "currency": "usd",
        "payment_intent": "pi_test_1",
        "payment_status": "paid",
        **fields,
    }


def _post(client, event: dict[str, Any]):
    body, headers = _signed(event)
    return post_webhook(client, body, headers, path="/webhooks/stripe/")


def test_the_checkout_session_we_ask_for(stub, session, settings):
    [request] = stub.requests
    form = request["form"]
    assert request["path"] == "/v1/checkout/sessions"
    assert request["headers"]["Authorization"] == "Bearer sk_test_123"
    assert request["headers"]["Idempotency-Key"] == f"deposit-{session.pk}"
    assert form["mode"] == ["payment"]
    assert form["client_reference_id"] == [str(session.pk)]
    assert form["metadata[deposit_id]"] == [str(session.pk)]
    assert form["line_items[0][price_data][currency]"] == ["usd"]
    assert form["line_items[0][price_data][unit_amount]"] == ["10000"]  # minor units
    back = f"{settings.SITE_URL}/portal/deposit/{session.pk}/"
    assert (form["success_url"], form["cancel_url"]) == ([back], [back])
    assert (session.status, session.provider_ref) == ("pending", f"cs_test_{session.pk}")
    assert session.redirect_url == f"https://checkout.stripe.com/c/pay/cs_test_{session.pk}"


def test_checkout_completed_credits_once_even_with_the_async_event_after(client, session):
    completed = _event("checkout.session.completed", _session_object(session))
    assert _post(client, completed).status_code == 200
    assert _post(client, completed).json()["duplicate"] is True
    _post(client, _event("checkout.session.async_payment_succeeded", _session_object(session)))

    session.refresh_from_db()
    assert (session.status, session.payment_id) == ("succeeded", "pi_test_1")
    wallet = wallet_for_client(client=session.client, currency="USD")
    assert account_balance(account=wallet).posted == D("96.80")  # 100 - (0.30 + 2.90)
    assert (
        Journal.objects.filter(
            source="payments", idempotency_key=f"stripe:{session.provider_ref}"
        ).count()
        == 1
    )


def test_an_unpaid_completed_session_waits_for_the_async_result(client, session):
    _post(
        client,
        _event("checkout.session.completed", _session_object(session, payment_status="unpaid")),
    )
    session.refresh_from_db()
    assert session.status == "pending"
    _post(
        client,
        _event(
            "checkout.session.async_payment_failed",
            _session_object(session, payment_status="unpaid"),
        ),
    )
    session.refresh_from_db()
    assert (session.status, session.failure_reason) == ("failed", "The payment was declined.")


def test_an_expired_session_expires_the_deposit(client, session):
    _post(
        client,
        _event("checkout.session.expired", _session_object(session, payment_status="unpaid")),
    )
    session.refresh_from_db()
    assert session.status == "expired"


def test_a_forged_stripe_signature_is_a_401_and_nothing_is_paid(client, session):
    body, _ = _signed(_event("checkout.session.completed", _session_object(session)))
    forged = stripe.WebhookSignature.generate_signature_header(body.decode(), "whsec_wrong")
    answer = post_webhook(client, body, {"Stripe-Signature": forged}, path="/webhooks/stripe/")
    assert answer.status_code == 401
    for header in ("", "t=1", "v1=abc", f"t={int(time.time())},v0=abc"):
        answer = post_webhook(client, body, {"Stripe-Signature": header}, path="/webhooks/stripe/")
        assert answer.status_code == 400, header
    session.refresh_from_db()
    assert session.status == "pending"
    assert not PaymentEvent.objects.exists()


def test_stripe_webhooks_answer_503_until_configured(client, session, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    body, headers = _signed(_event("checkout.session.completed", _session_object(session)))
    assert post_webhook(client, body, headers, path="/webhooks/stripe/").status_code == 503


def test_a_dispute_charges_back_and_flags_the_client(client, session):
    _post(client, _event("checkout.session.completed", _session_object(session)))
    dispute = {"id": "dp_1", "object": "dispute", "amount": 10000, "currency": "usd",
               "charge": "ch_1", "payment_intent": "pi_test_1", "reason": "fraudulent"}  # fmt: skip
    assert _post(client, _event("charge.dispute.created", dispute)).status_code == 200

    session.refresh_from_db()
    assert session.status == "charged_back"
    wallet = wallet_for_client(client=session.client, currency="USD")
    assert account_balance(account=wallet).posted == D("0")
    reversal = Journal.objects.get(pk=session.reversal_journal_id)
    assert reversal.reverses_id == session.credit_journal_id
    aml = AmlCase.objects.get(client=session.client)
    assert aml.summary == f"Deposit #{session.pk} of 100.00 USD charged back"
    assert aml.freezes is True


def test_a_full_refund_at_stripe_reverses_a_partial_one_is_left_to_finance(client, session):
    _post(client, _event("checkout.session.completed", _session_object(session)))
    charge = {"id": "ch_1", "object": "charge", "amount": 10000, "currency": "usd",
              "payment_intent": "pi_test_1", "refunded": False, "amount_refunded": 1000}  # fmt: skip
    _post(client, _event("charge.refunded", charge))
    session.refresh_from_db()
    assert session.status == "succeeded"

    _post(client, _event("charge.refunded", {**charge, "refunded": True, "amount_refunded": 10000}))
    session.refresh_from_db()
    assert session.status == "refunded"
    assert AmlCase.objects.get(client=session.client).freezes is False


def test_finance_refunds_through_the_stripe_api(client, stub, session):
    _post(client, _event("checkout.session.completed", _session_object(session)))
    deposit_refund(deposit_id=session.pk, actor=make_staff(roles.FINANCE))

    refund = stub.requests[-1]
    assert refund["path"] == "/v1/refunds"
    assert refund["form"] == {"payment_intent": ["pi_test_1"]}
    assert refund["headers"]["Idempotency-Key"] == f"refund-deposit-{session.pk}"
    session.refresh_from_db()
    assert session.status == "refunded"
