from __future__ import annotations

import pytest

from clients.models import Client
from partners import demo
from partners.models import Attribution, Partner, PartnerPath, ReferralLink, SelfReferralFlag
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_demo_partners_tree_links_and_traders_are_seeded_once():
    for email, *_ in demo.TREE:
        UserFactory(email=email)
    for i in range(10):
        ClientFactory(user__email=f"t{i:02d}@traders.meridian.test")
    demo.seed()
    snapshot = (
        sorted(PartnerPath.objects.values_list("ancestor__name", "descendant__name", "depth")),
        sorted(Attribution.objects.values_list("client_id", "partner_id", "valid_from")),
        ReferralLink.objects.count(),
        SelfReferralFlag.objects.count(),
        Partner.objects.count(),
    )
    demo.seed()
    assert snapshot == (
        sorted(PartnerPath.objects.values_list("ancestor__name", "descendant__name", "depth")),
        sorted(Attribution.objects.values_list("client_id", "partner_id", "valid_from")),
        ReferralLink.objects.count(),
        SelfReferralFlag.objects.count(),
        Partner.objects.count(),
    )
    kite = Partner.objects.get(name="Kite FX Academy")
    assert set(
        PartnerPath.objects.filter(descendant=kite).values_list("ancestor__name", "depth")
    ) == {("Kite FX Academy", 0), ("Harbor Trading Club", 1), ("Atlas Partners", 2)}
    assert ReferralLink.objects.filter(partner__status="approved").count() == 4
    assert Attribution.objects.count() == 8  # every fifth trader is direct
    assert Attribution.objects.filter(partner=kite).count() == 2
    assert SelfReferralFlag.objects.filter(reason="same_ip").count() == 1
    assert Partner.objects.get(name="Northwind Signals").status == Partner.Status.APPLIED
    assert Client.objects.count() == 10
