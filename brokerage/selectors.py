from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from pghistory.models import MiddlewareEvents

from brokerage.celery import QUEUES
from brokerage.models import User, WorkerHeartbeat


@dataclass(frozen=True)
class Health:
    database: bool
    redis: bool
    queue_ages: dict[str, float | None]  # seconds since the newest beat on each queue
    errors: dict[str, str]

    @property
    def worker_age_seconds(self) -> float | None:
        """The stalest queue's age: the worker side is as healthy as its worst queue."""
        ages = list(self.queue_ages.values())
        if not ages or any(age is None for age in ages):
            return None
        return max(age for age in ages if age is not None)

    @property
    def worker(self) -> bool:
        age = self.worker_age_seconds
        return age is not None and age <= settings.WORKER_HEARTBEAT_MAX_AGE

    @property
    def ok(self) -> bool:
        return self.database and self.redis and self.worker


@functools.lru_cache(maxsize=4)
def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def health_check() -> Health:
    errors: dict[str, str] = {}
    database = False
    ages: dict[str, float | None] = dict.fromkeys(QUEUES)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = True
        now = timezone.now()
        newest = WorkerHeartbeat.objects.values("queue").annotate(at=Max("beat_at"))
        for row in newest:
            if row["queue"] in ages:
                ages[row["queue"]] = max(0.0, (now - row["at"]).total_seconds())
    except Exception as exc:  # the point is to report, not to raise
        errors["database"] = type(exc).__name__
    redis_ok = False
    try:
        redis_ok = bool(_redis_client(settings.REDIS_URL).ping())
    except Exception as exc:
        errors["redis"] = type(exc).__name__
    silent = [queue for queue, age in ages.items() if age is None]
    stale = [
        f"{queue} {age:.0f}s ago"
        for queue, age in ages.items()
        if age is not None and age > settings.WORKER_HEARTBEAT_MAX_AGE
    ]
    if silent:
        errors["worker"] = f"no heartbeat on queue {', '.join(silent)}"
    elif stale:
        errors["worker"] = f"last heartbeat on {', '.join(stale)}"
    return Health(database=database, redis=redis_ok, queue_ages=ages, errors=errors)


@dataclass(frozen=True)
class DashboardStats:
    clients: int
    own_clients_only: bool
    clients_last_30_days: int
    partners: int
    staff: int
    staff_without_mfa: int
    signups_by_day: list[tuple[str, int]]


def dashboard_stats(*, user: User, days: int = 30) -> DashboardStats:
    """The dashboard's figures as `user` may see them: a sales agent counts their own book."""
    from clients.selectors import client_count, client_signups_by_day
    from partners.selectors import partner_count

    since = timezone.now() - timedelta(days=days)
    staff = User.objects.filter(is_staff=True, is_active=True)
    with_mfa = staff.filter(authenticator__type="totp").values("pk").distinct()
    by_day = dict(client_signups_by_day(user=user, since=since))
    today = timezone.localdate()
    series = []
    for offset in range(days - 1, -1, -1):
        day = today - timedelta(days=offset)
        series.append((day.isoformat(), by_day.get(day, 0)))
    return DashboardStats(
        clients=client_count(user=user),
        own_clients_only=not user.has_perm("brokerage.view_all_clients"),
        clients_last_30_days=sum(count for _, count in series),
        partners=partner_count(),
        staff=staff.count(),
        staff_without_mfa=staff.exclude(pk__in=with_mfa).count(),
        signups_by_day=series,
    )


def staff_list() -> list[User]:
    return list(
        User.objects.filter(is_staff=True)
        .prefetch_related("groups", "authenticator_set")
        .order_by("email")
    )


ROLE_EVENTS = "brokerage.User_groups"
AUDITED_MODELS = {
    "brokerage.User": "User",
    ROLE_EVENTS: "Role change",
    "clients.Client": "Client",
    "partners.Partner": "Partner",
    "partners.Attribution": "Client attribution (IB)",
    "wallets.FxRate": "FX rate",
    "wallets.ManualAdjustment": "Manual adjustment",
}


def audit_event_list(
    *, model: str = "", object_id: str = "", user: str = ""
) -> QuerySet[MiddlewareEvents]:
    """Audit events, newest first. `user` is the actor's e-mail or id; a user record's
    events include the role changes made to them."""
    events = MiddlewareEvents.objects.all().order_by("-pgh_created_at")
    if model == "brokerage.User" and object_id.isdigit():
        events = events.filter(
            Q(pgh_obj_model=model, pgh_obj_id=object_id)
            | Q(pgh_obj_model=ROLE_EVENTS, pgh_data__user_id=int(object_id))
        )
    else:
        if model:
            events = events.filter(pgh_obj_model=model)
        if object_id:
            events = events.filter(pgh_obj_id=object_id)
    if user:
        actor = (
            User.objects.filter(pk=int(user)).first()
            if user.isdigit()
            else User.objects.filter(email__iexact=user.strip()).first()
        )
        if actor is None:
            return events.none()
        events = events.filter(pgh_context__user=actor.pk)
    return events


def audit_describe(events: Iterable[Any]) -> None:
    """Attach who did it (actor e-mail) and, for role changes, a sentence, in two queries."""
    from django.contrib.auth.models import Group

    from brokerage.roles import ROLE_LABELS

    user_ids: set[int] = set()
    group_ids: set[int] = set()
    for event in events:
        uid = str((event.pgh_context or {}).get("user") or "")
        if uid.isdigit():
            user_ids.add(int(uid))
        if event.pgh_obj_model == ROLE_EVENTS:
            user_ids.add(event.pgh_data["user_id"])
            group_ids.add(event.pgh_data["group_id"])
    emails = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "email"))
    groups = dict(Group.objects.filter(pk__in=group_ids).values_list("pk", "name"))
    for event in events:
        uid = str((event.pgh_context or {}).get("user") or "")
        event.actor_id = int(uid) if uid.isdigit() else None
        event.actor_email = emails.get(event.actor_id) if event.actor_id else None
        event.summary = ""
        if event.pgh_obj_model == ROLE_EVENTS:
            role = groups.get(event.pgh_data["group_id"], "?")
            verb = "granted to" if event.pgh_label == "role.granted" else "revoked from"
            target = emails.get(event.pgh_data["user_id"], f"user #{event.pgh_data['user_id']}")
            event.summary = f"{ROLE_LABELS.get(role, role)} role {verb} {target}"
