"""Load the demo brokerage (shared/DEMO.md): staff per role, IBs, traders. Idempotent."""

from __future__ import annotations

from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from brokerage.models import User
from brokerage.roles import (
    ADMIN,
    AUDITOR,
    COMPLIANCE,
    DEALING,
    FINANCE,
    SALES_AGENT,
    SALES_MANAGER,
    SUPPORT,
)
from clients.models import Client
from clients.services import client_register
from partners.models import Partner
from partners.services import partner_register

# A demo-only password, printed at start. seed_demo refuses to run outside DEBUG.
DEMO_PASSWORD = "meridian-demo-2026"  # noqa: S105

STAFF = [
    ("admin@meridian.test", "Ada", "Admin", [ADMIN]),
    ("compliance@meridian.test", "Carla", "Compliance", [COMPLIANCE]),
    ("finance@meridian.test", "Felix", "Finance", [FINANCE]),
    ("finance2@meridian.test", "Fiona", "Finance", [FINANCE]),
    ("dealing@meridian.test", "Dan", "Dealing", [DEALING]),
    ("sales_manager@meridian.test", "Sam", "Sales-Manager", [SALES_MANAGER]),
    ("sales_agent@meridian.test", "Sasha", "Agent", [SALES_AGENT]),
    ("sales_agent2@meridian.test", "Seth", "Agent", [SALES_AGENT]),
    ("support@meridian.test", "Sunny", "Support", [SUPPORT]),
    ("auditor@meridian.test", "Aurelio", "Auditor", [AUDITOR]),
]

# (e-mail, trading name, parent e-mail)
PARTNERS = [
    ("atlas@partners.meridian.test", "Atlas Partners", None),
    ("harbor@partners.meridian.test", "Harbor Trading Club", "atlas@partners.meridian.test"),
    ("kite@partners.meridian.test", "Kite FX Academy", "harbor@partners.meridian.test"),
    ("solstice@partners.meridian.test", "Solstice Affiliates", None),
]

FIRST = [
    "Liam",
    "Olivia",
    "Noah",
    "Emma",
    "Mateo",
    "Sofia",
    "Lucas",
    "Amara",
    "Yuki",
    "Ivan",
    "Chloe",
    "Omar",
    "Priya",
    "Diego",
    "Hana",
    "Tomas",
    "Leila",
    "Jonas",
    "Mei",
    "Kofi",
]
LAST = [
    "Novak",
    "Silva",
    "Okafor",
    "Tanaka",
    "Berg",
    "Haddad",
    "Moreau",
    "Kowalski",
    "Reyes",
    "Lindqvist",
]
COUNTRIES = ["DE", "ES", "NG", "JP", "SE", "AE", "FR", "PL", "MX", "GB", "ZA", "IT"]
TRADER_COUNT = 40


def _verified_user(email: str, first: str, last: str, *, staff: bool = False) -> User:
    user, created = User.objects.get_or_create(
        email=email, defaults={"first_name": first, "last_name": last, "is_staff": staff}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Create the demo brokerage Meridian Markets (idempotent: run it twice, same data)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help="Don't print the logins.")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not getattr(settings, "SEED_DEMO_ALLOWED", False):
            raise CommandError("seed_demo loads known demo passwords; it runs only with DEBUG on.")
        with transaction.atomic():
            secrets = self._staff()
            self._partners()
            self._traders()
        if not options["quiet_logins"]:
            self._print_logins(secrets)

    def _staff(self) -> dict[str, str]:
        secrets: dict[str, str] = {}
        for email, first, last, roles in STAFF:
            user = _verified_user(email, first, last, staff=True)
            user.groups.set(Group.objects.filter(name__in=roles))
            totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
            if totp is None:
                TOTP.activate(user, generate_totp_secret())
                RecoveryCodes.activate(user)
                totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
            secrets[email] = decrypt(totp.data["secret"])
        return secrets

    def _partners(self) -> None:
        by_email: dict[str | None, Partner] = {}
        for email, name, parent in PARTNERS:
            first, _, last = name.partition(" ")
            user = _verified_user(email, first, last)
            by_email[email] = partner_register(
                user=user, name=name, approved=True, parent=by_email.get(parent)
            )

    def _traders(self) -> None:
        agents = list(User.objects.filter(email__startswith="sales_agent").order_by("email"))
        now = timezone.now()
        for i in range(TRADER_COUNT):
            first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
            email = f"{first}.{last}{i:02d}@traders.meridian.test".lower()
            user = _verified_user(email, first, last)
            is_new = not Client.objects.filter(user=user).exists()
            client = client_register(user=user, country=COUNTRIES[i % len(COUNTRIES)])
            if is_new:
                # Spread sign-ups over the last 30 days so the funnel and charts have a shape.
                joined = now - timedelta(days=(i * 37) % 30, hours=i % 24)
                Client.objects.filter(pk=client.pk).update(created_at=joined)
                User.objects.filter(pk=user.pk).update(date_joined=joined)
            agent = agents[i % 3] if i % 3 < len(agents) else None
            if client.assigned_agent_id != (agent.pk if agent else None):
                Client.objects.filter(pk=client.pk).update(assigned_agent=agent)

    def _print_logins(self, secrets: dict[str, str]) -> None:
        out = self.stdout.write
        out("")
        out(self.style.MIGRATE_HEADING(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        out("  Back-office  /backoffice/  (staff: enter the TOTP from the secret below in any")
        out("  authenticator app, or `python manage.py demo_totp EMAIL` prints the current code)")
        for email, *_ in STAFF:
            out(f"    {email:<30} TOTP secret {secrets[email]}")
        out("  Partners     /partners/")
        for email, name, _ in PARTNERS:
            out(f"    {email:<34} {name}")
        out("  Trader's room /portal/")
        out("    liam.novak00@traders.meridian.test (and 39 more *@traders.meridian.test)")
        out("")
