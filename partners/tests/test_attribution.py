"""Referral links, first touch, binding at sign-up, staff reassignment, self-referral."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from brokerage import roles
from brokerage.models import User
from clients.models import Client
from partners.exceptions import PartnerError
from partners.models import Attribution, Partner, ReferralLink, SelfReferralFlag
from partners.services import (
    DEVICE_COOKIE,
    REFERRAL_COOKIE,
    attribution_reassign,
    partner_apply,
    referral_link_create,
)
from tests.factories import ClientFactory, PartnerFactory, UserFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db

SIGNUP = {
    "password1": "a-long-pass-2026",
    "password2": "a-long-pass-2026",
    "first_name": "Ana",
    "last_name": "Lima",
}


def signup(client, email: str, remote_addr: str = "127.0.0.1", **extra) -> Client:
    response = client.post(
        "/accounts/signup/", {"email": email, **SIGNUP, **extra}, REMOTE_ADDR=remote_addr
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Client.objects.get(user__email=email)


@pytest.fixture
def atlas():
    return PartnerFactory(name="Atlas Partners", user__email="atlas@atlas-partners.test")


@pytest.fixture
def solstice():
    return PartnerFactory(name="Solstice Affiliates", user__email="sol@solstice.test")


def test_a_link_counts_the_click_remembers_the_first_touch_and_lands_on_its_page(
    client, atlas, solstice
):
    first = referral_link_create(partner=atlas, landing_path="/accounts/signup/")
    later = referral_link_create(partner=solstice)
    response = client.get(f"/r/{first.code.lower()}/")
    assert response.status_code == 302 and response["Location"] == "/accounts/signup/"
    assert REFERRAL_COOKIE in response.cookies and DEVICE_COOKIE in response.cookies
    assert response.cookies[REFERRAL_COOKIE]["max-age"] == 30 * 86400
    # A later link is counted but doesn't replace the first touch.
    response = client.get(f"/r/{later.code}/")
    assert response["Location"] == "/"
    assert REFERRAL_COOKIE not in response.cookies
    assert ReferralLink.objects.get(pk=later.pk).clicks == 1
    assert ReferralLink.objects.get(pk=first.pk).clicks == 1

    new = signup(client, "ana@example.test")
    attribution = Attribution.objects.get(client=new)
    assert (attribution.partner, attribution.source, attribution.link) == (atlas, "link", first)
    assert attribution.valid_to is None


def test_the_cookie_lifetime_is_a_setting_and_an_expired_cookie_binds_nothing(
    client, atlas, settings
):
    settings.REFERRAL_COOKIE_DAYS = 7
    link = referral_link_create(partner=atlas)
    response = client.get(f"/r/{link.code}/")
    assert response.cookies[REFERRAL_COOKIE]["max-age"] == 7 * 86400
    client.cookies[REFERRAL_COOKIE] = "forged-value"  # not signed by us
    new = signup(client, "forger@example.test")
    assert not Attribution.objects.filter(client=new).exists()


def test_an_unknown_code_goes_home_without_a_cookie(client):
    response = client.get("/r/NOPE1234/")
    assert response["Location"] == "/" and REFERRAL_COOKIE not in response.cookies


def test_a_link_never_redirects_off_the_allow_list(client, atlas):
    link = referral_link_create(partner=atlas)
    ReferralLink.objects.filter(pk=link.pk).update(landing_path="//evil.test/")
    assert client.get(f"/r/{link.code}/")["Location"] == "/"
    with pytest.raises(PartnerError, match="Choose a landing page from the list."):
        referral_link_create(partner=atlas, landing_path="https://evil.test/")


def test_a_code_typed_at_sign_up_binds_and_wins_over_the_cookie(client, atlas, solstice):
    clicked = referral_link_create(partner=atlas)
    typed = referral_link_create(partner=solstice)
    client.get(f"/r/{clicked.code}/")
    new = signup(client, "bo@example.test", referral_code=f" {typed.code.lower()} ")
    attribution = Attribution.objects.get(client=new)
    assert (attribution.partner, attribution.source) == (solstice, "code")


def test_a_wrong_code_at_sign_up_is_refused_in_words_keeping_the_input(client):
    response = client.post(
        "/accounts/signup/", {"email": "cy@example.test", **SIGNUP, "referral_code": "zz99"}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "No partner has the code ZZ99. Check it, or leave the field empty." in body
    assert 'value="cy@example.test"' in body
    assert not User.objects.filter(email="cy@example.test").exists()


def test_a_code_of_an_unapproved_partner_does_not_bind(client):
    applicant = PartnerFactory(status=Partner.Status.APPLIED)
    link = referral_link_create(partner=applicant)
    client.get(f"/r/{link.code}/")
    new = signup(client, "di@example.test")
    assert not Attribution.objects.filter(client=new).exists()


def test_an_existing_client_is_not_claimed_by_a_later_link(client, atlas, solstice):
    from django.test import RequestFactory

    from partners.services import attribution_bind_at_signup

    theirs = referral_link_create(partner=atlas)
    other = referral_link_create(partner=solstice)
    client.get(f"/r/{theirs.code}/")
    new = signup(client, "ed@example.test")
    request = RequestFactory().post("/accounts/signup/")
    assert attribution_bind_at_signup(client=new, request=request, code=other.code) is None
    assert list(Attribution.objects.filter(client=new).values_list("partner", flat=True)) == [
        atlas.pk
    ]
    # A client who signed up without a link isn't claimed by a link they open later either.
    veteran = ClientFactory()
    client.force_login(veteran.user)
    client.get(f"/r/{other.code}/")
    client.get("/portal/")
    assert not Attribution.objects.filter(client=veteran).exists()


def test_staff_reassign_from_now_closing_the_previous_attribution(atlas, solstice):
    staff = make_staff(roles.ADMIN)
    customer = ClientFactory()
    start = timezone.now() - timedelta(days=10)
    old = Attribution.objects.create(
        client=customer, partner=atlas, source="link", valid_from=start
    )
    new = attribution_reassign(
        client=customer, partner=solstice, actor=staff, reason="Client asked in ticket 42"
    )
    old.refresh_from_db()
    assert new is not None and new.valid_from == old.valid_to
    assert (new.partner, new.source, new.created_by, new.reason) == (
        solstice,
        "staff",
        staff,
        "Client asked in ticket 42",
    )
    assert timezone.now() - new.valid_from < timedelta(minutes=1)


def test_a_past_effective_date_needs_backdate(atlas, solstice):
    staff = make_staff(roles.ADMIN)
    customer = ClientFactory()
    Attribution.objects.create(
        client=customer,
        partner=atlas,
        source="link",
        valid_from=timezone.now() - timedelta(days=30),
    )
    when = timezone.now() - timedelta(days=5)
    with pytest.raises(PartnerError, match="The effective date is in the past. Tick “backdate”"):
        attribution_reassign(
            client=customer, partner=solstice, actor=staff, reason="x", effective_from=when
        )
    assert Attribution.objects.get(client=customer).valid_to is None  # nothing changed
    with pytest.raises(PartnerError, match="Say why"):
        attribution_reassign(client=customer, partner=solstice, actor=staff, reason=" ")
    attribution_reassign(
        client=customer,
        partner=solstice,
        actor=staff,
        reason="Proven referral",
        effective_from=when,
        backdate=True,
    )
    rows = list(Attribution.objects.filter(client=customer).order_by("valid_from"))
    assert [(r.partner_id, r.valid_to) for r in rows] == [(atlas.pk, when), (solstice.pk, None)]
    assert rows[1].valid_from == when
    with pytest.raises(PartnerError, match="must be after the current attribution began"):
        attribution_reassign(
            client=customer,
            partner=atlas,
            actor=staff,
            reason="y",
            effective_from=when - timedelta(days=1),
            backdate=True,
        )


def test_reassignment_through_the_back_office_is_audited_with_its_reason(client, atlas):
    from partners.models import AttributionEvent

    admin = make_staff(roles.ADMIN)
    customer = ClientFactory()
    login_staff(client, admin)
    response = client.post(
        f"/backoffice/partners/clients/{customer.pk}/attribution/",
        {"partner": atlas.pk, "reason": "Signed the IB's paper form"},
    )
    assert response.status_code == 302
    attribution = Attribution.objects.get(client=customer)
    assert attribution.partner == atlas and attribution.created_by == admin
    event = AttributionEvent.objects.get(pgh_obj=attribution, pgh_label="insert")
    assert event.pgh_context.metadata["reason"] == "Signed the IB's paper form"
    assert event.pgh_context.metadata["user"] == admin.pk
    audit = client.get("/backoffice/audit/?model=partners.Attribution")
    assert audit.status_code == 200 and admin.email in audit.content.decode()
    history = client.get("/backoffice/partners/attributions/?q=paper").content.decode()
    assert "Signed the IB&#x27;s paper form" in history and customer.user.email in history

    # A past date without backdate: refused in words, nothing changes.
    response = client.post(
        f"/backoffice/partners/clients/{customer.pk}/attribution/",
        {"partner": "", "reason": "oops", "effective_from": "2020-01-01T10:00"},
    )
    assert response.status_code == 200
    assert "The effective date is in the past." in response.content.decode()
    assert Attribution.objects.get(client=customer).valid_to is None


def test_self_referral_is_flagged_own_account_ip_device_and_email_domain(client, atlas):
    # The IB's own client account signs up with their own code.
    link = referral_link_create(partner=atlas)
    from django.test import RequestFactory

    from partners.services import attribution_bind_at_signup

    own = ClientFactory(user=atlas.user)
    attribution_bind_at_signup(client=own, request=RequestFactory().post("/"), code=link.code)
    assert set(SelfReferralFlag.objects.filter(client=own).values_list("reason", flat=True)) == {
        "own_account"
    }
    # An applicant's address and device are remembered; a sign-up sharing them is flagged.
    applicant_user = UserFactory(email="kite@kite-academy.test")
    ClientFactory(user=applicant_user)
    client.force_login(applicant_user)
    client.cookies[DEVICE_COOKIE] = "device-of-kite"
    client.post(
        "/portal/partner/apply/",
        {"name": "Kite FX Academy", "promotion": "YouTube"},
        REMOTE_ADDR="10.1.2.3",
    )
    kite = Partner.objects.get(user=applicant_user)
    assert (kite.applied_ip, kite.applied_device) == ("10.1.2.3", "device-of-kite")
    kite.status = Partner.Status.APPROVED
    kite.save()
    kite_link = referral_link_create(partner=kite)
    client.logout()
    client.cookies[DEVICE_COOKIE] = "device-of-kite"
    client.get(f"/r/{kite_link.code}/")
    sock = signup(client, "sock@kite-academy.test", remote_addr="10.1.2.3")
    reasons = set(SelfReferralFlag.objects.filter(client=sock).values_list("reason", flat=True))
    assert reasons == {"same_ip", "same_device", "same_email_domain"}
    # A stranger on a free-mail address from elsewhere: nothing to flag.
    client.cookies.clear()
    client.get(f"/r/{kite_link.code}/")
    stranger = signup(client, "someone@gmail.com", remote_addr="10.9.9.9")
    assert Attribution.objects.get(client=stranger).partner == kite
    assert not SelfReferralFlag.objects.filter(client=stranger).exists()
    # Staff see the flags on the IB's page.
    login_staff(client, make_staff(roles.AUDITOR))
    body = client.get(f"/backoffice/partners/{kite.pk}/").content.decode()
    assert "Same sign-up IP address as the IB" in body and "sock@kite-academy.test" in body


def test_partner_apply_is_idempotent_and_a_rejected_applicant_may_apply_again():
    user = ClientFactory().user
    first = partner_apply(user=user, name="Alpha", promotion="blog")
    assert partner_apply(user=user, name="Other", promotion="x") == first
    Partner.objects.filter(pk=first.pk).update(status=Partner.Status.REJECTED)
    again = partner_apply(user=user, name="Alpha Two", promotion="blog and seminars")
    assert again.pk == first.pk and again.status == Partner.Status.APPLIED
    assert again.name == "Alpha Two"


def test_an_applicant_without_a_device_cookie_gets_one_and_it_is_recorded(client):
    user = ClientFactory().user
    client.force_login(user)
    response = client.post("/portal/partner/apply/", {"name": "Owl", "promotion": "forum"})
    device = response.cookies[DEVICE_COOKIE].value
    assert len(device) > 20 and Partner.objects.get(user=user).applied_device == device


def test_the_ib_at_a_deal_time_follows_the_dated_attributions(atlas, solstice):
    from partners.selectors import partner_for_client_at

    staff = make_staff(roles.ADMIN)
    customer = ClientFactory()
    start = timezone.now() - timedelta(days=30)
    Attribution.objects.create(client=customer, partner=atlas, source="link", valid_from=start)
    switch = timezone.now() - timedelta(days=10)
    attribution_reassign(
        client=customer,
        partner=solstice,
        actor=staff,
        reason="dispute settled",
        effective_from=switch,
        backdate=True,
    )
    assert partner_for_client_at(client_id=customer.pk, at=start - timedelta(days=1)) is None
    assert partner_for_client_at(client_id=customer.pk, at=switch - timedelta(seconds=1)) == atlas
    assert partner_for_client_at(client_id=customer.pk, at=switch) == solstice
