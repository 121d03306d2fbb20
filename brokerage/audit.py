"""Request context for the audit trail: every change tracked by django-pghistory during a
request carries who did it, from which address, on which path."""

from __future__ import annotations

from typing import Any

from pghistory.middleware import HistoryMiddleware


def client_ip(request) -> str | None:
    """The client's address as allauth's rate limits see it: REMOTE_ADDR, or with
    TRUSTED_PROXY_COUNT proxies in front, the address the first trusted proxy saw (a client
    can't spoof it by sending its own X-Forwarded-For)."""
    from allauth.account.adapter import get_adapter

    return get_adapter(request).get_client_ip(request)


class AuditContextMiddleware(HistoryMiddleware):
    def get_context(self, request) -> dict[str, Any]:
        context = super().get_context(request)
        context["ip"] = client_ip(request)
        context["method"] = request.method
        return context


def axes_username(request, credentials: dict | None) -> str | None:
    """django-axes keys lockouts on the e-mail. allauth authenticates with
    ``credentials={"email": ...}`` while the form field is ``login``; read either."""
    if credentials:
        value = credentials.get("email") or credentials.get("username")
        if value:
            return str(value).lower()
    data = getattr(request, "POST", None) or {}
    value = data.get("login")
    return str(value).lower() if value else None
