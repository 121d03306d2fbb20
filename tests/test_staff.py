from __future__ import annotations

import re

import pytest
from django.core import mail
from pghistory.models import MiddlewareEvents

from brokerage import roles
from brokerage.models import User
from tests.factories import login_staff

pytestmark = pytest.mark.django_db(transaction=True)  # the invitation e-mail goes on commit


@pytest.fixture
def admin(staff_factory):
    return staff_factory(roles.ADMIN)


def test_admin_invites_a_staff_member_who_gets_a_password_link(client, admin):
    login_staff(client, admin)
    response = client.post(
        "/backoffice/staff/invite/",
        {
            "email": "New.Officer@meridian.test",
            "first_name": "Nora",
            "last_name": "Officer",
            "roles": [roles.COMPLIANCE],
        },
    )
    assert response.status_code == 302
    member = User.objects.get(email="new.officer@meridian.test")
    assert member.is_staff and not member.has_usable_password()
    assert sorted(member.groups.values_list("name", flat=True)) == [roles.COMPLIANCE]
    assert len(mail.outbox) == 1
    assert re.search(r"/accounts/password/reset/key/\S+/", mail.outbox[0].body)


def test_invite_form_errors_keep_the_input(client, admin):
    login_staff(client, admin)
    response = client.post(
        "/backoffice/staff/invite/",
        {"email": admin.email, "first_name": "Dup", "last_name": "Licate", "roles": []},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Choose at least one role." in body
    assert 'value="Dup"' in body
    assert mail.outbox == []


def test_duplicate_email_is_refused(client, admin):
    login_staff(client, admin)
    response = client.post(
        "/backoffice/staff/invite/",
        {
            "email": admin.email,
            "first_name": "Dup",
            "last_name": "Licate",
            "roles": [roles.SUPPORT],
        },
    )
    assert f"{admin.email} already has an account." in response.content.decode()


def test_role_change_is_audited_with_the_actor(client, admin, staff_factory):
    member = staff_factory(roles.SUPPORT)
    login_staff(client, admin)
    response = client.post(
        f"/backoffice/staff/{member.pk}/roles/",
        {"roles": [roles.FINANCE]},
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 302
    assert list(member.groups.values_list("name", flat=True)) == [roles.FINANCE]
    labels = sorted(
        MiddlewareEvents.objects.filter(
            pgh_obj_model="brokerage.User_groups", pgh_data__user_id=member.pk
        )
        .filter(pgh_context__user=admin.pk)
        .values_list("pgh_label", flat=True)
    )
    assert labels == ["role.granted", "role.revoked"]

    trail = client.get(f"/backoffice/audit/?model=brokerage.User&object_id={member.pk}")
    body = trail.content.decode()
    assert f"Finance role granted to {member.email}" in body
    assert f"Support role revoked from {member.email}" in body
    assert "192.0.2.44" in body

    by_actor = client.get(f"/backoffice/audit/?user={admin.email}").content.decode()
    assert f"Finance role granted to {member.email}" in by_actor


def test_admin_cannot_remove_their_own_admin_role(client, admin):
    login_staff(client, admin)
    response = client.post(f"/backoffice/staff/{admin.pk}/roles/", {"roles": [roles.SUPPORT]})
    assert response.status_code == 200
    assert "You can&#x27;t remove your own administrator role" in response.content.decode()
    assert list(admin.groups.values_list("name", flat=True)) == [roles.ADMIN]


def test_a_deactivated_staff_member_is_logged_out_at_once(client, admin, staff_factory):
    from django.test import Client as Browser

    leaver = staff_factory(roles.SALES_AGENT)
    their_session = Browser()
    login_staff(their_session, leaver)
    assert their_session.get("/backoffice/").status_code == 200

    login_staff(client, admin)
    response = client.post(f"/backoffice/staff/{leaver.pk}/roles/", {"action": "deactivate"})
    assert response.status_code == 302
    leaver.refresh_from_db()
    assert not leaver.is_active
    assert their_session.get("/backoffice/").status_code == 302  # the session no longer works
    event = MiddlewareEvents.objects.filter(
        pgh_obj_model="brokerage.User", pgh_obj_id=str(leaver.pk), pgh_label="update"
    ).get()
    assert event.pgh_diff == {"is_active": [True, False]}
    assert event.pgh_context["user"] == admin.pk

    client.post(f"/backoffice/staff/{leaver.pk}/roles/", {"action": "reactivate"})
    leaver.refresh_from_db()
    assert leaver.is_active


def test_admin_cannot_deactivate_themselves(client, admin):
    login_staff(client, admin)
    response = client.post(f"/backoffice/staff/{admin.pk}/roles/", {"action": "deactivate"})
    assert "You can&#x27;t deactivate your own account" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active
