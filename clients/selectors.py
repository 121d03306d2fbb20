from __future__ import annotations

from datetime import date, datetime

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.shortcuts import get_object_or_404

from brokerage.models import User
from clients.models import Client


def client_list_for_user(*, user: User, search: str = "", status: str = "") -> QuerySet[Client]:
    """Clients the acting staff member may see: all of them with `view_all_clients`,
    otherwise only those assigned to them (a sales agent's book)."""
    clients = Client.objects.select_related("user", "assigned_agent")
    if not user.has_perm("brokerage.view_all_clients"):
        clients = clients.filter(assigned_agent=user)
    if search:
        clients = clients.filter(
            Q(user__email__icontains=search)
            | Q(user__first_name__icontains=search)
            | Q(user__last_name__icontains=search)
        )
    if status:
        clients = clients.filter(status=status)
    return clients


def client_get_for_user(*, user: User, pk: int) -> Client:
    # 404, not 403, for a client outside the agent's book: don't leak that it exists.
    return get_object_or_404(client_list_for_user(user=user), pk=pk)


def client_count(*, user: User) -> int:
    return client_list_for_user(user=user).count()


def client_signups_by_day(*, user: User, since: datetime) -> list[tuple[date, int]]:
    return list(
        client_list_for_user(user=user)
        .filter(created_at__gte=since)
        .order_by()
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"))
        .values_list("day", "count")
    )
