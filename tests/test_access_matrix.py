"""Who may open which page: every back-office, portal and partner URL as every staff role,
a trader, an IB and a visitor. A living document: a new URL fails
`test_every_url_is_in_the_matrix` until someone decides who may see it."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from brokerage import roles
from brokerage.models import User
from clients.models import Client
from tests.factories import ClientFactory, PartnerFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db

ALL_STAFF = set(roles.ROLES)
R = roles

# url name -> who gets 200. Everyone else: 403 (signed in) or a redirect to log in (visitor).
MATRIX: dict[str, set[str]] = {
    # back-office
    "brokerage:dashboard": ALL_STAFF,
    "brokerage:staff": {R.ADMIN, R.AUDITOR},
    "brokerage:staff-invite": {R.ADMIN},
    "brokerage:staff-roles": {R.ADMIN},
    "brokerage:audit": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "clients:client-list": ALL_STAFF,
    "clients:client-detail": ALL_STAFF - {R.SALES_AGENT},  # an agent: only their own clients
    "kyc:queue": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "clients:trading-health": {R.ADMIN, R.DEALING, R.AUDITOR},
    "clients:trading-products": {R.ADMIN, R.DEALING, R.AUDITOR},
    "clients:trading-product-new": {R.ADMIN, R.DEALING},
    "clients:trading-product-edit": {R.ADMIN, R.DEALING},
    "kyc:case": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc:funnel": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_providers:events": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_documents:client-documents": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_documents:document": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_documents:file": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_risk:overview": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_risk:countries": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_risk:assessment": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "kyc_risk:assessment-decide": {R.ADMIN, R.COMPLIANCE},  # senior sign-off of high risk
    "kyc_risk:alert": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},  # deciding needs change_kyc
    "kyc_risk:client-assess": {R.ADMIN, R.COMPLIANCE},
    "screening:overview": {R.ADMIN, R.COMPLIANCE, R.AUDITOR},
    "wallets:payments": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-accounts": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-account": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-journals": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-journal": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-trial-balance": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-fx-rates": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:ledger-fx-rate-new": {R.ADMIN, R.FINANCE},
    "wallets:ledger-fx-rate-edit": {R.ADMIN, R.FINANCE},
    "wallets:adjustments": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "wallets:adjustment": {R.ADMIN, R.FINANCE, R.AUDITOR},  # deciding needs change_payments
    "wallets:adjustment-new": {R.ADMIN, R.FINANCE},
    "withdrawals:queue": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "withdrawals:detail": {R.ADMIN, R.FINANCE, R.AUDITOR},  # deciding needs change_payments
    "transfers:backoffice-list": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "payments:backoffice-deposits": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "payments:backoffice-deposit": {R.ADMIN, R.FINANCE, R.AUDITOR},  # refunding: change_payments
    "payments:methods": {R.ADMIN, R.FINANCE, R.AUDITOR},
    "payments:method-edit": {R.ADMIN, R.FINANCE},
    "risk:overview": {R.ADMIN, R.COMPLIANCE, R.DEALING, R.AUDITOR},
    "partners:backoffice-list": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "partners:backoffice-detail": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "partners:backoffice-attributions": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "partners:backoffice-decide": {R.ADMIN},  # change_partners
    "partners:backoffice-move": {R.ADMIN},
    "partners:backoffice-client-attribution": {R.ADMIN},
    "commissions:plans": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "commissions:partner-plan-assign": {R.ADMIN},  # change_partners
    "commissions:plan": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "commissions:runs": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "commissions:recomputes": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "commissions:recompute": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "commissions:disputes": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "commissions:dispute": {R.ADMIN, R.FINANCE, R.SALES_MANAGER, R.AUDITOR},
    "reports:report-list": {
        R.ADMIN,
        R.COMPLIANCE,
        R.FINANCE,
        R.DEALING,
        R.SALES_MANAGER,
        R.AUDITOR,
    },
    # trader's room
    "clients:portal-home": {"trader"},
    "kyc:verification": {"trader"},
    "clients:portal-accounts": {"trader"},
    "clients:portal-history": {"trader"},
    "kyc_documents:portal-documents": {"trader"},
    "kyc_documents:portal-file": {"trader"},  # their own document; another's is a 404
    "wallets:wallet-list": {"trader"},
    "wallets:statement": {"trader"},  # their own wallet's; another's is a 404 (wallets tests)
    "wallets:convert": {"trader"},
    "withdrawals:withdraw": {"trader"},
    "withdrawals:portal-list": {"trader"},
    "withdrawals:portal-detail": {"trader"},  # their own; another's is a 404 (withdrawals tests)
    "clients:portal-open-account": {"trader"},
    "transfers:new": {"trader"},
    "transfers:list": {"trader"},
    "transfers:detail": {"trader"},  # their own transfer; another's is a 404 (transfers tests)
    "payments:deposit-new": {"trader"},
    "payments:deposit": {"trader"},  # their own deposit; another's is a 404 (payments tests)
    "payments:deposit-list": {"trader"},
    # partner dashboard
    "partners:dashboard": {"ib"},
    "partners:clients": {"ib"},
    "partners:client-detail": {"ib"},  # a client in their tree; anyone else's is a 404
    "partners:subpartner-detail": {"ib"},  # a sub-IB in their tree
    "partners:links": {"ib"},
    "partners:link-detail": {"ib"},  # their own link
    "partners:apply": {"trader"},  # a client applies to become an IB
    "commissions:lines": {"ib"},
    "commissions:line": {"ib"},  # their own line; another IB's is a 404 (commissions tests)
    "commissions:statements": {"ib"},
    "commissions:payout": {"ib"},
    "commissions:statement": {"ib"},
    "commissions:statement-csv": {"ib"},
    "commissions:statement-pdf": {"ib"},
}

SURFACES = ("backoffice/", "portal/", "partners/")


def _walk(patterns, prefix="", namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            ns = namespace
            if pattern.namespace:
                ns = f"{namespace}{pattern.namespace}:"
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield prefix + str(pattern.pattern), f"{namespace}{pattern.name}"


def surface_urls() -> dict[str, str]:
    return {
        name: route
        for route, name in _walk(get_resolver().url_patterns)
        if route.startswith(SURFACES)
    }


def test_every_url_is_in_the_matrix():
    assert set(surface_urls()) == set(MATRIX)


@pytest.fixture
def actors(db):
    people = {role: make_staff(role) for role in roles.ROLES}
    people["trader"] = ClientFactory().user
    people["ib"] = PartnerFactory().user
    return people


def _wallet_objects(client_pk: int) -> dict[str, int]:
    """One of each ledger thing a back-office URL can point at, around one client's wallet."""
    from decimal import Decimal

    from wallets.ledger.services import Leg, house_account, ledger_transfer, wallet_for_client
    from wallets.models import FxRate, ManualAdjustment

    wallet = wallet_for_client(client=Client.objects.get(pk=client_pk), currency="USD")
    clearing = house_account(kind="psp_clearing", currency="USD", label="matrix")
    journal = ledger_transfer(
        source="matrix",
        key=f"deposit:{wallet.pk}",
        legs=[Leg(clearing, "D", Decimal("10")), Leg(wallet, "C", Decimal("10"))],
    )
    rate, _ = FxRate.objects.get_or_create(
        base_id="USD", quote_id="EUR", defaults={"rate": Decimal("0.9")}
    )
    adjustment = ManualAdjustment.objects.create(
        account=wallet,
        direction="credit",
        amount=Decimal("1"),
        currency_id="USD",
        reason="other",
        reason_text="matrix",
        requested_by=make_staff(R.FINANCE),
    )
    return {
        "wallets:ledger-account": wallet.pk,
        "wallets:ledger-journal": journal.journal_id,
        "wallets:ledger-fx-rate-edit": rate.pk,
        "wallets:adjustment": adjustment.pk,
    }


def _kyc_risk_objects(client_pk: int) -> dict[str, int]:
    """A high-risk assessment (run by the system) and an open alert for one client."""
    from django.utils import timezone

    from kyc.riskscore.models import MonitoringAlert
    from kyc.riskscore.services import assess_client

    client = Client.objects.get(pk=client_pk)
    assessment = assess_client(client=client, pep="foreign", screening="alert")
    now = timezone.now()
    alert = MonitoringAlert.objects.create(
        rule="R7",
        client=client,
        dedupe_key=f"matrix:{client_pk}",
        window_start=now,
        window_end=now,
        summary="matrix",
    )
    return {
        "kyc_risk:assessment": assessment.pk,
        "kyc_risk:assessment-decide": assessment.pk,
        "kyc_risk:alert": alert.pk,
    }


def _withdrawal(client: Client) -> int:
    """A withdrawal row (no money behind it: these pages only read it)."""
    from decimal import Decimal

    from wallets.withdrawals.models import Withdrawal

    return Withdrawal.objects.create(
        client=client,
        amount=Decimal("10"),
        currency="USD",
        destination="bank",
        iban="DE89370400440532013000",
        bic="COBADEFFXXX",
        account_holder=client.name,
        request_token=f"matrix-{client.pk}",
        requested_by=client.user,
    ).pk


def _partner_objects(name: str, ib: User | None) -> int:
    """An object of the IB's own tree for a partner page, or any partner for the back-office."""
    from django.utils import timezone

    from partners.models import Attribution, Partner
    from partners.services import referral_link_create

    if name.startswith("partners:backoffice-"):
        return PartnerFactory(status=Partner.Status.APPLIED).pk
    assert ib is not None
    if name == "partners:client-detail":
        client = ClientFactory()
        Attribution.objects.create(
            client=client, partner=ib.partner, source="staff", valid_from=timezone.now()
        )
        return client.pk
    if name == "partners:subpartner-detail":
        return PartnerFactory(parent=ib.partner).pk
    return referral_link_create(partner=ib.partner).pk


def _payment_objects(client_pk: int, trader: User | None) -> dict[str, int]:
    """A payment method and a deposit (the trader's own for the portal page)."""
    from decimal import Decimal

    from wallets.payments.models import Deposit, PaymentMethod

    method, _ = PaymentMethod.objects.get_or_create(
        code="matrix", defaults={"name": "Matrix card", "provider": "demo", "currencies": ["USD"]}
    )
    owner = trader.client if trader is not None else Client.objects.get(pk=client_pk)
    deposit = Deposit.objects.create(
        client=owner, method=method, provider="demo", amount=Decimal("10"), currency="USD"
    )
    return {
        "payments:deposit": deposit.pk,
        "payments:backoffice-deposit": deposit.pk,
        "payments:method-edit": method.pk,
    }


def _commission_objects(ib: User | None) -> dict[str, int]:
    """A plan, a recompute, a dispute and a line of the IB actor's own."""
    from datetime import UTC, datetime

    from partners.commissions.models import CommissionLine, CommissionRun, Dispute, Recompute
    from partners.commissions.services import plan_create

    ib = ib or PartnerFactory().user
    when = datetime(2026, 10, 5, tzinfo=UTC)
    run = CommissionRun.objects.create(label="matrix")
    line = CommissionLine.objects.create(
        kind="adjustment",
        run=run,
        partner=ib.partner,
        level=0,
        deal_time=when,
        amount=1,
        currency="USD",
        wallet_amount=1,
        wallet_currency="USD",
        formula="matrix",
    )
    recompute = Recompute.objects.create(period_start=when, period_end=when)
    dispute = Dispute.objects.create(partner=ib.partner, line=line, message="matrix")
    return {
        "commissions:plan": plan_create(name=f"Matrix {line.pk}").pk,
        "commissions:recompute": recompute.pk,
        "commissions:dispute": dispute.pk,
        "commissions:line": line.pk,
        "commissions:partner-plan-assign": ib.partner.pk,
    }


def _path(
    name: str, route: str, some_client_pk: int, trader: User | None = None, ib: User | None = None
) -> str:
    if name.startswith("commissions:"):
        pk = _commission_objects(ib).get(name, some_client_pk)
        route = route.replace("<str:period>", "2026-10")
    elif name == "brokerage:staff-roles":
        pk = make_staff(R.SUPPORT).pk
    elif name.startswith("kyc_risk:"):
        pk = _kyc_risk_objects(some_client_pk).get(name, some_client_pk)
    elif name.startswith("wallets:"):
        pk = _wallet_objects(some_client_pk).get(name, some_client_pk)
    elif name == "withdrawals:detail":
        pk = _withdrawal(Client.objects.get(pk=some_client_pk))
    elif name == "withdrawals:portal-detail":
        assert trader is not None
        pk = _withdrawal(trader.client)  # their own: the only one they may open
    elif name.startswith("partners:") and name != "partners:backoffice-client-attribution":
        pk = _partner_objects(name, ib)
    elif name.startswith("payments:"):
        pk = _payment_objects(some_client_pk, trader).get(name, some_client_pk)
    elif name == "clients:portal-history":
        from clients.models import TradingAccount, TradingServer

        assert trader is not None
        server, _ = TradingServer.objects.get_or_create(
            name="Matrix",
            defaults={"url": "http://127.0.0.1:1", "manager_login": 1, "password_sealed": ""},
        )
        pk = TradingAccount.objects.create(
            client=trader.client,
            server=server,
            login=900000 + trader.pk,
            group="real\\standard",
            leverage=100,
        ).pk
    elif name == "clients:trading-product-edit":
        from clients.models import TradingProduct, TradingServer

        server, _ = TradingServer.objects.get_or_create(
            name="Matrix",
            defaults={"url": "http://127.0.0.1:1", "manager_login": 1, "password_sealed": ""},
        )
        pk = TradingProduct.objects.create(
            name="Matrix", server=server, group="real\\standard", leverage_choices=[100]
        ).pk
    elif name == "transfers:detail":
        from wallets.transfers.tests.factories import make_transfer

        assert trader is not None
        pk = make_transfer(client=trader.client).pk
    elif name == "kyc:case":
        from kyc.services import case_for_client

        pk = case_for_client(client=Client.objects.get(pk=some_client_pk)).pk
    elif name in ("kyc_documents:document", "kyc_documents:file"):
        from kyc.documents.tests.factories import DocumentFactory

        pk = DocumentFactory(client_id=some_client_pk).pk
    elif name == "kyc_documents:portal-file":
        from kyc.documents.tests.factories import DocumentFactory

        # The trader's own document: the only one they may open.
        assert trader is not None
        pk = DocumentFactory(client=trader.client).pk
    else:
        pk = some_client_pk
    if name == "wallets:statement":
        from wallets.ledger.services import wallet_for_client

        # The trader's own wallet: the only statement anyone may open.
        assert trader is not None
        wallet_for_client(client=trader.client, currency="EUR")
        route = route.replace("<str:currency>", "EUR")
    return "/" + route.replace("<int:pk>", str(pk))


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_access(client, actors, name):
    route = surface_urls()[name]
    # A client nobody is assigned to: an agent must not see them.
    path = _path(name, route, ClientFactory().pk, actors["trader"], actors["ib"])
    allowed = MATRIX[name]
    for who, user in actors.items():
        login_staff(client, user) if user.is_staff else client.force_login(user)
        status = client.get(path).status_code
        expected = (
            200
            if who in allowed
            else (404 if name == "clients:client-detail" and who == R.SALES_AGENT else 403)
        )
        assert status == expected, f"{who} on {path}: got {status}, expected {expected}"
    client.logout()
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_sales_agent_sees_own_clients_only(client):
    agent = make_staff(R.SALES_AGENT)
    other_agent = make_staff(R.SALES_AGENT)
    mine = ClientFactory(assigned_agent=agent)
    theirs = ClientFactory(assigned_agent=other_agent)
    unassigned = ClientFactory()
    login_staff(client, agent)
    listing = client.get("/backoffice/clients/").content.decode()
    assert mine.user.email in listing
    assert theirs.user.email not in listing
    assert unassigned.user.email not in listing
    assert client.get(f"/backoffice/clients/{mine.pk}/").status_code == 200
    assert client.get(f"/backoffice/clients/{theirs.pk}/").status_code == 404


def test_staff_without_mfa_is_sent_to_set_it_up(client):
    admin = make_staff(R.ADMIN, mfa=False)
    login_staff(client, admin)
    for name, route in surface_urls().items():
        if not route.startswith("backoffice/"):
            continue
        response = client.get(_path(name, route, ClientFactory().pk))
        assert response.status_code == 302, name
        assert response["Location"] == "/accounts/2fa/totp/activate/", name


def test_staff_is_not_a_trader(client):
    login_staff(client, make_staff(R.ADMIN))
    response = client.get("/portal/")
    assert response.status_code == 403
    assert b"The trader&#x27;s room is for clients of the broker." in response.content


def test_unapproved_partner_cannot_reach_the_dashboard(client):
    from partners.models import Partner

    applicant = PartnerFactory(status=Partner.Status.APPLIED).user
    client.force_login(applicant)
    assert client.get("/partners/").status_code == 403


def test_an_agents_dashboard_counts_only_their_own_clients(client):
    agent = make_staff(R.SALES_AGENT)
    ClientFactory.create_batch(2, assigned_agent=agent)
    ClientFactory.create_batch(3)
    login_staff(client, agent)
    response = client.get("/backoffice/")
    assert response.context["stats"].clients == 2
    assert sum(response.context["chart"]["values"]) == 2
    body = response.content.decode()
    assert "Your clients" in body
    assert "without 2FA" not in body and "all with 2FA" not in body  # staff data is not theirs

    manager = make_staff(R.SALES_MANAGER)
    login_staff(client, manager)
    assert client.get("/backoffice/").context["stats"].clients == 5


def test_client_search_returns_the_fragment_to_htmx_and_the_page_on_history_restore(client):
    manager = make_staff(R.SALES_MANAGER)
    ClientFactory(user__first_name="Zelda")
    login_staff(client, manager)
    fragment = client.get("/backoffice/clients/?q=zel", HTTP_HX_REQUEST="true")
    assert fragment.content.decode().lstrip().startswith('<div id="results">')
    assert "Zelda" in fragment.content.decode()
    assert "HX-Request" in fragment["Vary"]
    restored = client.get(
        "/backoffice/clients/?q=zel", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert restored.content.decode().lstrip().startswith("<!doctype html>")


def test_client_list_paginates_keeping_the_filters(client):
    manager = make_staff(R.SALES_MANAGER)
    ClientFactory.create_batch(30, status="active")
    login_staff(client, manager)
    body = client.get("/backoffice/clients/?status=active").content.decode()
    assert "Page 1 of 2" in body
    assert 'href="?status=active&amp;page=2"' in body
    second = client.get("/backoffice/clients/?status=active&page=2").content.decode()
    assert "Page 2 of 2" in second and "30 clients" in second
