"""Request context for the audit trail: every change tracked by django-pghistory during a
request carries who did it, from which address, on which path."""

from __future__ import annotations

from typing import Any

from pghistory.middleware import HistoryMiddleware


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is set by whoever sends the request. Behind a proxy,
    # configure the proxy to overwrite REMOTE_ADDR (gunicorn --forwarded-allow-ips).
    return request.META.get("REMOTE_ADDR")


class AuditContextMiddleware(HistoryMiddleware):
    def get_context(self, request) -> dict[str, Any]:
        context = super().get_context(request)
        context["ip"] = client_ip(request)
        context["method"] = request.method
        return context
