"""Request types for views behind our decorators (for the type checker)."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from brokerage.models import User


class AuthedHttpRequest(HttpRequest):
    """A request that passed `backoffice_view`, `portal_view` or `partner_view`."""

    user: User  # type: ignore[assignment]
    htmx: HtmxDetails
