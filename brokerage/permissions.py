"""Who may reach which surface. Every view uses one of these decorators.

- ``backoffice_view(perm)``: staff only, with MFA enabled (else sent to set it up), holding
  the named permission of ``brokerage.Backoffice`` (else 403).
- ``portal_view``: a signed-in trader (a user with a client profile).
- ``partner_view``: a signed-in IB (a user with an approved partner profile).

Object scoping (a sales agent sees only their clients; an IB only their tree) lives in each
app's selectors, which take the acting user.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse

# HttpResponseBase: a view may stream (a CSV export) as well as render.
View = Callable[..., HttpResponseBase]


def staff_has_mfa(user: Any) -> bool:
    return bool(is_mfa_enabled(user))


def session_passed_mfa(request: HttpRequest) -> bool:
    """Did *this session* prove the second factor? Having an authenticator is not enough: a
    password-only login (e.g. through another login form) must not open the back-office."""
    records = get_authentication_records(request, request.user)  # type: ignore[arg-type]
    return any(record.get("method") == "mfa" for record in records)


def record_mfa_on_activation(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Setting up an authenticator means entering a valid code from it: that counts as this
    session's second factor (connected to allauth's authenticator_added in apps.py)."""
    record_authentication(request, user, "mfa", type=kwargs["authenticator"].type)


def backoffice_view(perm: str) -> Callable[[View], View]:
    codename = f"brokerage.{perm}"

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user.is_staff:
                raise PermissionDenied("The back-office is for the broker's staff.")
            if not staff_has_mfa(user):
                messages.warning(
                    request,
                    "Staff must use two-factor authentication. Confirm your password, then "
                    "scan the code with an authenticator app to continue to the back-office.",
                )
                return redirect("mfa_activate_totp")
            if not session_passed_mfa(request):
                messages.info(
                    request, "Enter the code from your authenticator app to open the back-office."
                )
                return redirect(f"{reverse('mfa_reauthenticate')}?next={request.get_full_path()}")
            if not user.has_perm(codename):
                raise PermissionDenied(
                    "Your role does not include this page. Ask an administrator if you need it."
                )
            return view(request, *args, **kwargs)

        wrapper.backoffice_permission = codename  # type: ignore[attr-defined]
        return wrapper

    return decorator


def portal_view(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not hasattr(user, "client"):
            raise PermissionDenied("The trader's room is for clients of the broker.")
        return view(request, *args, **kwargs)

    wrapper.surface = "portal"  # type: ignore[attr-defined]
    return wrapper


def partner_view(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        partner = getattr(user, "partner", None)
        if partner is None or not partner.is_approved:
            raise PermissionDenied("The partner dashboard is for approved introducing brokers.")
        return view(request, *args, **kwargs)

    wrapper.surface = "partners"  # type: ignore[attr-defined]
    return wrapper
