from __future__ import annotations

from django.db import transaction

from brokerage.models import User
from clients.exceptions import ClientError
from clients.models import Client


@transaction.atomic
def client_register(*, user: User, country: str = "", phone: str = "") -> Client:
    """Give a newly signed-up user their client profile (idempotent)."""
    client, _ = Client.objects.get_or_create(
        user=user, defaults={"country": country.upper(), "phone": phone}
    )
    return client


@transaction.atomic
def client_assign_agent(*, client: Client, agent: User | None, actor: User) -> Client:
    if agent is not None and not (
        agent.is_staff and agent.groups.filter(name__in=["sales_agent", "sales_manager"]).exists()
    ):
        raise ClientError(f"{agent.email} is not a sales agent or manager.")
    client.assigned_agent = agent
    client.save(update_fields=["assigned_agent"])
    return client
