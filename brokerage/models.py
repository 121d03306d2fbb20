from __future__ import annotations

from typing import ClassVar

import pghistory
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **fields) -> User:
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", False)
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        fields.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **fields)


@pghistory.track(exclude=["password", "last_login"])
class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who logs in: traders, IBs and staff. What they may reach depends on their
    profile (clients.Client, partners.Partner) and, for staff, on their role groups."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(
        default=False, help_text="Staff reach the back-office (with MFA and a role)."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat task from a queue. /healthz wants a
    recent beat on every queue: a worker serving only `default` doesn't make `platform` safe."""

    hostname = models.CharField(max_length=255)
    queue = models.CharField(max_length=64, default="default")
    beat_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hostname", "queue"], name="heartbeat_per_worker_queue")
        ]

    def __str__(self) -> str:
        return f"{self.hostname}/{self.queue} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class Backoffice(models.Model):
    """Holds the back-office permissions that staff roles grant (no table)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_dashboard", "See the back-office dashboard"),
            ("view_clients", "See clients (scoped: an agent sees only their own)"),
            ("view_all_clients", "See every client, not only assigned ones"),
            ("change_clients", "Edit clients and assign them to agents"),
            ("view_kyc", "See the KYC/AML queue and documents"),
            ("change_kyc", "Decide KYC cases"),
            ("view_payments", "See deposits, withdrawals and the ledger"),
            ("change_payments", "Approve withdrawals and adjustments"),
            ("view_risk", "See exposure and risk alerts"),
            ("view_trading", "See trading servers and their sync health"),
            ("change_trading", "Re-sync trading servers"),
            ("view_partners", "See IBs, their trees and commissions"),
            ("change_partners", "Approve IBs and manage commission plans"),
            ("view_reports", "See and download reports"),
            ("view_audit", "Browse the audit trail"),
            ("view_staff", "See staff and their roles"),
            ("change_staff", "Create staff and change their roles"),
        ]

    def __str__(self) -> str:
        return "back-office permissions"


# Role changes (group membership) are audited by a trigger on the through table, so a change
# made anywhere (back-office, admin, shell) is recorded with the request's context.
UserRoleEvent = pghistory.create_event_model(
    User.groups.through,
    pghistory.InsertEvent("role.granted"),
    pghistory.DeleteEvent("role.revoked"),
    obj_field=None,  # type: ignore[arg-type]  # pghistory accepts None: no object FK
    model_name="UserRoleEvent",
    app_label="brokerage",
    abstract=False,
)
