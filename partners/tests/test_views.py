"""The partner dashboard (scoped to the IB's own tree, masking), onboarding and the
back-office pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from brokerage import roles
from clients.models import Deal, TradingAccount, TradingServer
from partners.models import Attribution, Partner, PartnerPath
from partners.services import referral_link_create
from tests.factories import ClientFactory, PartnerFactory, UserFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db


def attach(client, partner, days_ago: int = 20):
    return Attribution.objects.create(
        client=client,
        partner=partner,
        source="link",
        valid_from=timezone.now() - timedelta(days=days_ago),
    )


@pytest.fixture
def tree():
    """Atlas -> Harbor -> Kite, and Solstice on its own; one client each."""
    atlas = PartnerFactory(name="Atlas Partners")
    harbor = PartnerFactory(name="Harbor Trading Club", parent=atlas)
    kite = PartnerFactory(name="Kite FX Academy", parent=harbor)
    solstice = PartnerFactory(name="Solstice Affiliates")
    people = {}
    for partner, first in [(atlas, "Anna"), (harbor, "Hugo"), (kite, "Kira"), (solstice, "Sol")]:
        customer = ClientFactory(
            user__first_name=first, user__last_name="Trader", user__email=f"{first}@mail.test"
        )
        attach(customer, partner)
        people[partner.name] = customer
    return {"atlas": atlas, "harbor": harbor, "kite": kite, "solstice": solstice, **people}


def test_an_ib_opening_another_ibs_client_link_or_sub_ib_gets_404(client, tree):
    harbor, atlas, solstice = tree["harbor"], tree["atlas"], tree["solstice"]
    client.force_login(harbor.user)
    outsiders = [
        f"/partners/clients/{tree['Atlas Partners'].pk}/",  # their master's client
        f"/partners/clients/{tree['Solstice Affiliates'].pk}/",
        f"/partners/links/{referral_link_create(partner=atlas).pk}/",
        f"/partners/links/{referral_link_create(partner=solstice).pk}/",
        f"/partners/sub-ibs/{atlas.pk}/",  # above them, not below
        f"/partners/sub-ibs/{solstice.pk}/",
        f"/partners/sub-ibs/{harbor.pk}/",  # themselves: not a sub-IB
        "/partners/clients/999999/",
    ]
    for path in outsiders:
        assert client.get(path).status_code == 404, path
    mine = [
        f"/partners/clients/{tree['Harbor Trading Club'].pk}/",
        f"/partners/clients/{tree['Kite FX Academy'].pk}/",
        f"/partners/sub-ibs/{tree['kite'].pk}/",
        f"/partners/links/{referral_link_create(partner=harbor).pk}/",
    ]
    for path in mine:
        assert client.get(path).status_code == 200, path


def test_sub_ibs_clients_are_masked_by_default_and_own_clients_shown(client, tree):
    client.force_login(tree["atlas"].user)
    body = client.get("/partners/clients/").content.decode()
    assert "Anna Trader" in body and "Anna@mail.test" in body
    assert "Hugo Trader" not in body and "Hugo@mail.test" not in body
    assert "H*** T***" in body and "Hu***@m***.test" in body
    assert "K*** T***" in body
    assert "Sol" not in body  # another tree
    detail = client.get(f"/partners/clients/{tree['Kite FX Academy'].pk}/").content.decode()
    assert "Kira" not in detail and "Ki***@m***.test" in detail
    sub_only = client.get("/partners/clients/?scope=subtree").content.decode()
    assert "Anna Trader" not in sub_only and "H*** T***" in sub_only


def test_the_broker_may_show_sub_ib_clients_or_hide_own_ones(client, tree, settings):
    settings.PARTNERS_SHOW_SUBTREE_CLIENT_DETAILS = True
    settings.PARTNERS_SHOW_OWN_CLIENT_DETAILS = False
    client.force_login(tree["atlas"].user)
    body = client.get("/partners/clients/").content.decode()
    assert "Hugo Trader" in body and "Kira Trader" in body
    assert "Anna Trader" not in body and "A*** T***" in body


def _deal(server, login, ticket, *, symbol, lots, when, action=0):
    return Deal(
        server=server,
        ticket=ticket,
        login=login,
        action=action,
        entry=0,
        symbol=symbol,
        volume_ext=int(Decimal(lots) * 100_000_000),
        time=when,
        time_msc=int(when.timestamp() * 1000),
        synced_at=timezone.now(),
    )


def test_dashboard_counts_clients_active_traders_volume_and_symbols_of_the_tree(client, tree):
    server = TradingServer.objects.create(
        name="Live", url="http://127.0.0.1:1", manager_login=1, password_sealed=""
    )
    now = timezone.now()
    logins = {}
    for n, name in enumerate(["Atlas Partners", "Kite FX Academy", "Solstice Affiliates"]):
        logins[name] = 5000 + n
        TradingAccount.objects.create(
            client=tree[name], server=server, login=5000 + n, group="real", leverage=100
        )
    Deal.objects.bulk_create(
        [
            _deal(server, logins["Atlas Partners"], 1, symbol="EURUSD", lots="1.5", when=now),
            _deal(server, logins["Kite FX Academy"], 2, symbol="XAUUSD", lots="2", when=now),
            _deal(server, logins["Kite FX Academy"], 3, symbol="EURUSD", lots="1", when=now),
            # Before Kira belonged to Kite (attribution from 20 days ago): not this tree's.
            _deal(
                server,
                logins["Kite FX Academy"],
                4,
                symbol="BTCUSD",
                lots="9",
                when=now - timedelta(days=25),
            ),
            _deal(server, logins["Solstice Affiliates"], 5, symbol="US30", lots="4", when=now),
            _deal(server, logins["Atlas Partners"], 6, symbol="", lots="0", when=now, action=2),
        ]
    )
    client.force_login(tree["atlas"].user)
    response = client.get("/partners/")
    stats = response.context["stats"]
    assert (stats.direct_clients, stats.subtree_clients, stats.active_traders, stats.sub_ibs) == (
        1,
        2,
        2,
        2,
    )
    assert stats.lots_30d == Decimal("4.50")
    assert response.context["top_symbols"] == [
        ("EURUSD", Decimal("2.50")),
        ("XAUUSD", Decimal("2.00")),
    ]
    chart = response.context["chart"]
    assert sum(chart["values"]) == 4.5 and len(chart["labels"]) == 30
    body = response.content.decode()
    assert "Harbor Trading Club" in body and "Kite FX Academy" in body
    assert "Solstice" not in body
    # Kite sees only their own client's deals.
    client.force_login(tree["kite"].user)
    kite = client.get("/partners/?period=week").context
    assert kite["stats"].lots_30d == Decimal("3.00")
    assert kite["stats"].direct_clients == 1 and kite["stats"].subtree_clients == 0


def test_dashboard_shows_links_with_copy_and_qr_and_the_blocks_for_commissions(client, tree):
    link = referral_link_create(partner=tree["kite"], campaign="spring")
    client.force_login(tree["kite"].user)
    body = client.get("/partners/").content.decode()
    assert f"http://testserver/r/{link.code}/" in body
    assert 'data-copy="#link-' in body and "<svg" in body
    assert "Sub-IB of Atlas Partners → Harbor Trading Club" in body


def test_an_ib_creates_a_link_to_an_allowed_landing_page_only(client, tree):
    client.force_login(tree["solstice"].user)
    response = client.post(
        "/partners/links/", {"landing_path": "https://evil.test/", "campaign": "x"}
    )
    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    response = client.post(
        "/partners/links/", {"landing_path": "/accounts/signup/", "campaign": "webinar-1"}
    )
    link = tree["solstice"].links.get()
    assert response["Location"] == f"/partners/links/{link.pk}/"
    assert (link.landing_path, link.campaign) == ("/accounts/signup/", "webinar-1")


def test_a_client_applies_and_staff_approve_under_a_parent(client, tree):
    trader = ClientFactory().user
    client.force_login(trader)
    response = client.post("/portal/partner/apply/", {"name": "", "promotion": ""})
    assert response.status_code == 200
    assert response.content.decode().count("This field is required.") == 2
    response = client.post(
        "/portal/partner/apply/",
        {"name": "River Signals", "website": "river.test", "promotion": "Telegram channel"},
    )
    assert response.status_code == 302
    river = Partner.objects.get(user=trader)
    assert (river.status, river.website) == (Partner.Status.APPLIED, "https://river.test")
    assert client.get("/partners/").status_code == 403  # not approved yet
    assert "We received your application" in client.get("/portal/partner/apply/").content.decode()

    admin = make_staff(roles.ADMIN)
    login_staff(client, admin)
    response = client.post(
        f"/backoffice/partners/{river.pk}/decide/",
        {"decision": "approve", "parent": tree["harbor"].pk},
    )
    assert response.status_code == 302
    river.refresh_from_db()
    assert (river.status, river.parent, river.decided_by) == (
        Partner.Status.APPROVED,
        tree["harbor"],
        admin,
    )
    assert set(
        PartnerPath.objects.filter(descendant=river).values_list("ancestor__name", "depth")
    ) == {("River Signals", 0), ("Harbor Trading Club", 1), ("Atlas Partners", 2)}
    client.force_login(trader)
    assert client.get("/partners/").status_code == 200


def test_staff_reject_with_a_reason_the_applicant_sees(client):
    user = UserFactory()
    ClientFactory(user=user)
    applicant = PartnerFactory(user=user, status=Partner.Status.APPLIED)
    login_staff(client, make_staff(roles.ADMIN))
    url = f"/backoffice/partners/{applicant.pk}/decide/"
    response = client.post(url, {"decision": "reject", "reason": ""})
    assert "Give the applicant a reason for the rejection." in response.content.decode()
    client.post(url, {"decision": "reject", "reason": "No website or audience yet"})
    applicant.refresh_from_db()
    assert applicant.status == Partner.Status.REJECTED
    client.force_login(user)
    assert "No website or audience yet" in client.get("/portal/partner/apply/").content.decode()


def test_a_move_that_makes_a_cycle_is_refused_on_the_page(client, tree):
    login_staff(client, make_staff(roles.ADMIN))
    response = client.post(
        f"/backoffice/partners/{tree['atlas'].pk}/move/", {"parent": tree["kite"].pk}
    )
    assert response.status_code == 200
    assert (
        "Kite FX Academy is under Atlas Partners; moving Atlas Partners under Kite FX Academy "
        "would make a cycle." in response.content.decode()
    )
    response = client.post(
        f"/backoffice/partners/{tree['harbor'].pk}/move/", {"parent": tree["solstice"].pk}
    )
    assert response.status_code == 302
    assert Partner.objects.get(pk=tree["kite"].pk).parent == tree["harbor"]
    assert PartnerPath.objects.filter(
        ancestor=tree["solstice"], descendant=tree["kite"], depth=2
    ).exists()


def test_backoffice_list_filters_and_shows_level_clients_and_parent(client, tree):
    PartnerFactory(name="Pending Pat", status=Partner.Status.APPLIED)
    login_staff(client, make_staff(roles.SALES_MANAGER))
    response = client.get("/backoffice/partners/?status=approved")
    partners = {p.name: p for p in response.context["page"]}
    assert "Pending Pat" not in partners
    kite = partners["Kite FX Academy"]
    assert (kite.level, kite.client_count, kite.parent.name) == (3, 1, "Harbor Trading Club")
    found = client.get("/backoffice/partners/?q=solst", HTTP_HX_REQUEST="true")
    assert found.content.decode().lstrip().startswith('<div id="results">')
    assert [p.name for p in found.context["page"]] == ["Solstice Affiliates"]
    detail = client.get(f"/backoffice/partners/{tree['harbor'].pk}/").content.decode()
    assert "Kite FX Academy" in detail and "Hugo@mail.test" in detail
    assert "Approve or reject" not in detail  # a sales manager can't change partners
