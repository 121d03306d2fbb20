"""Demo partners (see DEMO.md): Atlas Partners (master) -> Harbor Trading Club -> Kite FX
Academy, and the independent Solstice Affiliates; a referral link each; the demo traders
spread over them (every fifth one a direct client); one application waiting for a decision
and one self-referral flag for staff to look at. Idempotent: a second run changes nothing."""

from __future__ import annotations

from django.db import transaction

from clients.models import Client
from partners.models import Attribution, Partner, ReferralLink, SignupTrace
from partners.services import (
    partner_apply,
    partner_register,
    referral_link_create,
    self_referral_check,
)

TREE = [
    # e-mail, name, parent e-mail, link code, landing page, campaign
    ("atlas@partners.meridian.test", "Atlas Partners", None, "ATLASFX", "/", "master"),
    (
        "harbor@partners.meridian.test",
        "Harbor Trading Club",
        "atlas@partners.meridian.test",
        "HARBOR",
        "/accounts/signup/",
        "club-night",
    ),
    (
        "kite@partners.meridian.test",
        "Kite FX Academy",
        "harbor@partners.meridian.test",
        "KITEFX",
        "/accounts/signup/",
        "course",
    ),
    ("solstice@partners.meridian.test", "Solstice Affiliates", None, "SOLSTICE", "/", "cpa"),
]
# Solstice applied from this address; a trader signed up from it too (a self-referral flag).
SOLSTICE_IP = "203.0.113.7"


@transaction.atomic
def seed() -> None:
    from brokerage.models import User

    partners: dict[str, Partner] = {}
    links: list[ReferralLink] = []
    for email, name, parent, code, landing, campaign in TREE:
        user = User.objects.get(email=email)  # made by seed_demo's _partners (with a password)
        partner = partner_register(
            user=user, name=name, approved=True, parent=partners.get(parent or "")
        )
        partners[email] = partner
        links.append(
            referral_link_create(
                partner=partner, code=code, landing_path=landing, campaign=campaign
            )
        )
    solstice = partners["solstice@partners.meridian.test"]
    if solstice.applied_ip is None:
        Partner.objects.filter(pk=solstice.pk).update(
            applied_ip=SOLSTICE_IP, promotion="Comparison site for retail brokers"
        )
        solstice.refresh_from_db()

    traders = list(
        Client.objects.filter(user__email__endswith="@traders.meridian.test")
        .select_related("user")
        .order_by("user__email")
    )
    for i, client in enumerate(traders):
        slot = i % 5
        if slot == 4:
            continue  # a direct client of the broker
        link = links[slot]
        Attribution.objects.get_or_create(
            client=client,
            defaults={
                "partner": link.partner,
                "source": Attribution.Source.LINK,
                "link": link,
                "valid_from": client.created_at,
            },
        )
        if ReferralLink.objects.filter(pk=link.pk, clicks=0).exists():
            ReferralLink.objects.filter(pk=link.pk).update(clicks=len(traders) // 5 * 3)
    if len(traders) > 3:
        SignupTrace.objects.get_or_create(client=traders[3], defaults={"ip": SOLSTICE_IP})
        self_referral_check(client=traders[3], partner=solstice)
    if len(traders) > 4:
        # A direct client who applied to become an IB: the back-office has one to decide.
        partner_apply(
            user=traders[4].user,
            name="Northwind Signals",
            website="https://northwind-signals.test",
            promotion="A Telegram channel with 4,000 subscribers; weekly webinars in Portuguese.",
        )
