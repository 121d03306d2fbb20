"""Staff roles: Django groups whose permissions follow this table after every migrate.

Changing a role is a code change (reviewed, versioned), not an admin click: the table below
is the single source, and `roles_sync` makes the database agree with it.
"""

from __future__ import annotations

from django.db import transaction

ADMIN = "admin"
COMPLIANCE = "compliance"
FINANCE = "finance"
DEALING = "dealing"
SALES_MANAGER = "sales_manager"
SALES_AGENT = "sales_agent"
SUPPORT = "support"
AUDITOR = "auditor"

_ALL_VIEW = [
    "view_dashboard",
    "view_clients",
    "view_all_clients",
    "view_kyc",
    "view_payments",
    "view_risk",
    "view_trading",
    "view_partners",
    "view_reports",
    "view_audit",
    "view_staff",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    ADMIN: _ALL_VIEW
    + [
        "change_clients",
        "change_kyc",
        "change_payments",
        "change_partners",
        "change_staff",
        "change_trading",
    ],
    COMPLIANCE: [
        "view_dashboard",
        "view_clients",
        "view_all_clients",
        "view_kyc",
        "change_kyc",
        "view_risk",
        "view_audit",
        "view_reports",
    ],
    FINANCE: [
        "view_dashboard",
        "view_clients",
        "view_all_clients",
        "view_payments",
        "change_payments",
        "view_partners",
        "view_reports",
    ],
    DEALING: [
        "view_dashboard",
        "view_clients",
        "view_all_clients",
        "view_risk",
        "view_trading",
        "change_trading",
        "view_reports",
    ],
    SALES_MANAGER: [
        "view_dashboard",
        "view_clients",
        "view_all_clients",
        "change_clients",
        "view_partners",
        "view_reports",
    ],
    SALES_AGENT: ["view_dashboard", "view_clients"],
    SUPPORT: ["view_dashboard", "view_clients", "view_all_clients"],
    # Read-only everywhere: every view_* permission and no change_* one.
    AUDITOR: list(_ALL_VIEW),
}

ROLE_LABELS = {
    ADMIN: "Administrator",
    COMPLIANCE: "Compliance officer",
    FINANCE: "Finance",
    DEALING: "Dealing / risk",
    SALES_MANAGER: "Sales manager",
    SALES_AGENT: "Sales agent",
    SUPPORT: "Support",
    AUDITOR: "Auditor (read-only)",
}

ROLES = tuple(ROLE_PERMISSIONS)


def roles_sync(*, using: str = "default") -> None:
    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from brokerage.models import Backoffice

    content_type = ContentType.objects.db_manager(using).get_for_model(
        Backoffice, for_concrete_model=False
    )
    perms = {
        p.codename: p for p in Permission.objects.using(using).filter(content_type=content_type)
    }
    if not perms:  # permissions are created by another post_migrate handler; run after it
        from django.apps import apps
        from django.contrib.auth.management import create_permissions

        create_permissions(apps.get_app_config("brokerage"), verbosity=0, using=using)
        perms = {
            p.codename: p for p in Permission.objects.using(using).filter(content_type=content_type)
        }
    with transaction.atomic(using=using):
        for role, codenames in ROLE_PERMISSIONS.items():
            group, _ = Group.objects.using(using).get_or_create(name=role)
            group.permissions.set([perms[c] for c in codenames])


def user_roles(user) -> list[str]:
    if not getattr(user, "is_staff", False):
        return []
    return sorted(g.name for g in user.groups.all() if g.name in ROLE_PERMISSIONS)
