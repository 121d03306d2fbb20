"""Staff log in with a password and a second factor: a TOTP code or a recovery code."""

from __future__ import annotations

import time

import pytest
from allauth.mfa import app_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from allauth.mfa.utils import decrypt

from brokerage import roles
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _current_code(user) -> str:
    secret = decrypt(Authenticator.objects.get(user=user, type="totp").data["secret"])
    return format_hotp_value(hotp_value(secret, int(time.time()) // app_settings.TOTP_PERIOD))


def _password_step(client, user):
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/authenticate/"
    # Password alone is not a session: the back-office still asks to log in.
    assert client.get("/backoffice/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_staff_login_needs_the_totp_code(client, staff_factory):
    user = staff_factory(roles.FINANCE)
    _password_step(client, user)
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200
    assert "Incorrect code." in wrong.content.decode()
    right = client.post("/accounts/2fa/authenticate/", {"code": _current_code(user)})
    assert right.status_code == 302
    assert client.get("/backoffice/").status_code == 200


def test_a_recovery_code_works_once(client, staff_factory):
    user = staff_factory(roles.SUPPORT)
    codes = RecoveryCodes.activate(user).get_unused_codes()
    _password_step(client, user)
    assert client.post("/accounts/2fa/authenticate/", {"code": codes[0]}).status_code == 302
    assert client.get("/backoffice/").status_code == 200
    client.logout()
    _password_step(client, user)
    reused = client.post("/accounts/2fa/authenticate/", {"code": codes[0]})
    assert reused.status_code == 200
    assert "_auth_user_id" not in client.session


def test_trader_without_mfa_logs_in_with_a_password(client, owner):
    response = client.post("/accounts/login/", {"login": owner.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/portal/").status_code == 200


def test_password_reset_sends_a_link_and_never_says_who_exists(client, owner):
    from django.core import mail

    known = client.post("/accounts/password/reset/", {"email": owner.email})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == "/accounts/password/reset/done/"
    to_owner = [m for m in mail.outbox if m.to == [owner.email]]
    assert len(to_owner) == 1
    assert "/accounts/password/reset/key/" in to_owner[0].body


def test_pages_not_found_use_our_404(client):
    response = client.get("/backoffice/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_a_password_only_session_cannot_open_the_backoffice(client, staff_factory):
    """Having an authenticator is not enough: this session must have used it."""
    user = staff_factory(roles.FINANCE)
    client.force_login(user)  # as if logged in through some password-only door
    response = client.get("/backoffice/payments/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/reauthenticate/?next=/backoffice/payments/"


def test_the_admin_login_form_cannot_bypass_the_second_factor(client, staff_factory):
    user = staff_factory(roles.FINANCE, is_superuser=True)
    # Django's own admin login form is replaced by allauth's (password, then code).
    response = client.get("/admin/login/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    client.post("/admin/login/", {"username": user.email, "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert client.get("/backoffice/payments/").status_code == 302


def test_the_admin_is_for_superusers_with_a_second_factor(client, staff_factory):
    from tests.factories import login_staff

    staff = staff_factory(roles.ADMIN)
    login_staff(client, staff)
    assert client.get("/admin/").status_code == 302  # staff, but not a superuser

    root = staff_factory(roles.ADMIN, is_superuser=True)
    client.force_login(root)
    assert client.get("/admin/").status_code == 302  # superuser, but password only
    login_staff(client, root)
    assert client.get("/admin/").status_code == 200
