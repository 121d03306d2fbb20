"""Load the demo brokerage (shared/DEMO.md): staff per role, IBs, traders. Idempotent."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

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

import kyc.screening as kyc_screening
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
from brokerage.secrets_box import seal
from clients import demo as clients_demo
from clients.models import Client, TradingAccount, TradingServer
from clients.services import client_register
from kyc import services as kyc_services
from kyc.models import CaseTransition, KycCase
from kyc.screening.models import ListVersion
from kyc.screening.selectors import latest_screening
from kyc.screening.services import screen_client, watchlist_load
from mt5sim import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD
from partners import demo as partners_demo
from partners.commissions import demo as commissions_demo
from partners.models import Partner
from partners.services import partner_register
from wallets.ledger.services import (
    Leg,
    conversion_quote,
    house_account,
    ledger_convert,
    ledger_transfer,
    wallet_for_client,
)
from wallets.models import FxRate, Journal, ManualAdjustment
from wallets.payments import demo as payments_demo
from wallets.services import adjustment_approve, adjustment_reject, adjustment_request
from wallets.withdrawals import demo as withdrawals_demo

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

# (base, quote, rate, markup): what finance would have set; editable in the back-office.
FX_RATES = [
    ("USD", "EUR", "0.92345", "0.005"),
    ("EUR", "USD", "1.08110", "0.005"),
    ("USD", "USDT", "0.99950", "0.002"),
    ("USDT", "USD", "0.99900", "0.002"),
    ("EUR", "USDT", "1.07900", "0.004"),
    ("USDT", "EUR", "0.92100", "0.004"),
]
SEED_RATES = {(b, q): (Decimal(r), Decimal(m)) for b, q, r, m in FX_RATES}

# (requester, decider or None, trader index, direction, amount, reason, explanation, outcome)
ADJUSTMENTS = [
    (
        "finance2@meridian.test",
        "finance@meridian.test",
        1,
        "credit",
        "12.50",
        "fee_refund",
        "The card fee of the second deposit was charged twice (PSP ticket 88-311).",
        "approved",
    ),
    (
        "finance@meridian.test",
        "finance2@meridian.test",
        2,
        "debit",
        "40.00",
        "correction",
        "Deposit credited twice by the PSP webhook retry.",
        "rejected",
    ),
    (
        "finance@meridian.test",
        None,
        0,
        "credit",
        "25.00",
        "goodwill",
        "Compensation for last week's delayed withdrawal (ticket #1042).",
        "pending",
    ),
]


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


# DEMO.md: a client whose name resembles a listed person closely enough to be held for review
# (an alert on OFAC's ABU MARZOOK, Mousa Mohammed), and a near miss that must pass (the same
# surname as OFAC's NASRALLAH, Hasan, another person).
SCREENING_STORY = [
    ("mousa.marzook@traders.meridian.test", "Mousa", "Marzook", "GB"),
    ("omar.nasrallah@traders.meridian.test", "Omar", "Nasrallah", "FR"),
]


# The simulator's traders (Procfile: --traders 8), logins from the first of its range.
SIM_TRADERS = 8
SIM_FIRST_LOGIN = 100000


def hours(n: int) -> timedelta:
    return timedelta(hours=n)


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
            self._money()
            self._kyc()
            self._screening()
            self._trading()
            withdrawals_demo.seed()
            clients_demo.seed()  # trading products (Standard, Pro, Demo) and the demo server
            partners_demo.seed()
            payments_demo.seed()
            commissions_demo.seed()
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

    def _money(self) -> None:
        """Wallets in USD, EUR and USDT with deposits and conversions, FX rates, and manual
        adjustments (one still waiting for finance2). Every posting has a key of its own and
        is made only once: a second run finds the journal and leaves the books as they are."""
        for base, quote, rate, markup in FX_RATES:
            FxRate.objects.get_or_create(
                base_id=base,
                quote_id=quote,
                defaults={"rate": Decimal(rate), "markup": Decimal(markup)},
            )
        now = timezone.now()
        clients = self._demo_clients()
        for i, client in enumerate(clients):
            if i % 4 == 3:
                continue  # registered, never funded: their wallet page shows the empty state
            email = client.user.email
            # Deposits spread over the client's life with us, oldest first.
            span = now - client.created_at
            deposits = [("USD", Decimal(500 + (i * 137) % 4500)), ("USD", Decimal(50 + i))]
            if i % 2 == 0:
                deposits.append(("EUR", Decimal(200 + (i * 53) % 800)))
            if i % 3 == 0:
                deposits.append(("USDT", Decimal(1000 + (i * 71) % 2000) + Decimal("0.5")))
            for n, (currency, amount) in enumerate(deposits, start=1):
                self._deposit(
                    client,
                    currency,
                    amount,
                    key=f"seed:{email}:{n}",
                    at=client.created_at + span * n / (len(deposits) + 1),
                )
            if i % 5 == 0:
                self._convert(client, "USD", "EUR", Decimal("100.00"), key=f"seed:{email}:fx1")
            if i % 6 == 0:
                self._convert(client, "USDT", "USD", Decimal("250"), key=f"seed:{email}:fx2")
        self._adjustments(clients)

    def _kyc(self) -> None:
        """A verification case per trader, at every stage (DEMO.md): funded traders were
        approved (most at level 2), the unfunded ones wait at each step, one was rejected with
        a reason and one must upload again. Made once: an existing case is left alone."""
        officer = User.objects.get(email="compliance@meridian.test")
        for i, client in enumerate(self._demo_clients()):
            if KycCase.objects.filter(client=client).exists():
                continue
            joined = client.created_at
            if i % 4 != 3:  # funded: verified within a day or two of signing up
                level = 1 if i % 5 == 1 else 2
                steps = [
                    ("docs_requested", "submitted", "client", None, "", hours(2 + i % 5)),
                    ("submitted", "approved", "staff", officer, "documents_ok", hours(6 + i % 30)),
                ]
            elif i % 16 == 3:
                level, steps = 0, []  # registered only
            elif i % 16 == 7:
                level = 0
                steps = [("docs_requested", "submitted", "client", None, "", hours(3))]
            elif i % 16 == 11:
                level = 0
                steps = [
                    ("docs_requested", "submitted", "client", None, "", hours(1)),
                    ("submitted", "resubmit", "staff", officer, "document_unreadable", hours(20)),
                ]
            else:
                level = 0
                steps = [
                    ("docs_requested", "submitted", "client", None, "", hours(1)),
                    ("submitted", "rejected", "staff", officer, "name_mismatch", hours(30)),
                ]
            state = steps[-1][1] if steps else "docs_requested"
            last_at = joined + sum((step[5] for step in steps), timedelta())
            case = KycCase.objects.create(
                client=client,
                state=state,
                level=level,
                opened_at=joined,
                state_since=last_at,
                approved_at=last_at if state == "approved" else None,
                client_message=kyc_services.CLIENT_MESSAGES[state],
            )
            at = joined
            for from_state, to_state, source, actor, reason, after in steps:
                at += after
                CaseTransition.objects.create(
                    case=case,
                    from_state=from_state,
                    to_state=to_state,
                    source=source,
                    actor=actor or (client.user if source == "client" else None),
                    reason=reason,
                    note="Demo data." if actor else "",
                    level=level if to_state == "approved" else 0,
                    created_at=at,
                )

    def _screening(self) -> None:
        """The sample watch lists (real OFAC rows, synthetic UN and EU records), and the two
        DEMO.md clients: one whose name is close enough to a listed person to be held for
        review (an AML case compliance must decide), and a near miss that passes."""
        samples = Path(kyc_screening.__file__).resolve().parent / "samples"
        lists = {
            "ofac-csv": [samples / "sdn.csv", samples / "alt.csv", samples / "add.csv"],
            "un-xml": [samples / "un_consolidated.xml"],
            "eu-xml": [samples / "eu_fsf.xml"],
        }
        for fmt, paths in lists.items():
            source = {"ofac-csv": "ofac", "un-xml": "un", "eu-xml": "eu"}[fmt]
            if not ListVersion.objects.filter(source=source, is_active=True).exists():
                watchlist_load(fmt=fmt, paths=paths)
        for email, first, last, country in SCREENING_STORY:
            user = _verified_user(email, first, last)
            client = client_register(user=user, country=country)
            case = kyc_services.case_for_client(client=client)
            if latest_screening(client=client) is None:
                screen_client(client=client, trigger="onboarding")
            if case.state == "docs_requested":
                kyc_services.case_move(
                    case=case,
                    to="submitted",
                    source="client",
                    actor=user,
                    note="Demo: passport uploaded.",
                )

    def _trading(self) -> None:
        """The demo's live server is the bundled MT5 simulator (make run starts it; its
        simulated traders get logins 100000 and up on a fresh state). The first verified
        traders own those accounts, so the portal and the back-office show trades moving."""
        server, created = TradingServer.objects.get_or_create(
            name="Meridian Live",
            defaults={
                "url": settings.MT5SIM_URL,
                "manager_login": DEFAULT_MANAGER_LOGIN,
                "password_sealed": seal(DEFAULT_MANAGER_PASSWORD),
                "is_live": True,
            },
        )
        if not created and server.url != settings.MT5SIM_URL:
            TradingServer.objects.filter(pk=server.pk).update(url=settings.MT5SIM_URL)
        owners = [
            c
            for c in self._demo_clients()
            if KycCase.objects.filter(client=c, level__gte=1).exists()
        ][:SIM_TRADERS]
        for n, client in enumerate(owners):
            TradingAccount.objects.get_or_create(
                server=server,
                login=SIM_FIRST_LOGIN + n,
                defaults={
                    "client": client,
                    "group": "real\\standard",
                    "leverage": 100,
                    "currency": "USD",
                    "is_live": True,
                },
            )

    def _demo_clients(self) -> list[Client]:
        by_email = {
            c.user.email: c
            for c in Client.objects.filter(
                user__email__endswith="@traders.meridian.test"
            ).select_related("user")
        }
        emails = [
            f"{FIRST[i % len(FIRST)]}.{LAST[(i * 7) % len(LAST)]}{i:02d}@traders.meridian.test"
            for i in range(TRADER_COUNT)
        ]
        return [by_email[e.lower()] for e in emails]

    @staticmethod
    def _deposit(client: Client, currency: str, amount: Decimal, *, key: str, at: datetime) -> None:
        if Journal.objects.filter(source="demo.psp", idempotency_key=key).exists():
            return
        clearing = house_account(kind="psp_clearing", currency=currency, label="demo")
        wallet = wallet_for_client(client=client, currency=currency)
        ledger_transfer(
            source="demo.psp",
            key=key,
            legs=[Leg(clearing, "D", amount), Leg(wallet, "C", amount)],
            memo="Card deposit" if currency != "USDT" else "USDT deposit (TRC-20)",
            external_ref=f"DEMO-{client.pk}-{key.rsplit(':', 1)[-1]}",
            effective_at=at,
        )

    @staticmethod
    def _convert(client: Client, sell: str, buy: str, amount: Decimal, *, key: str) -> None:
        # The seed's own rates, not the table's: finance may have edited those since, and a
        # second run must post exactly the same request under the same key.
        rate, markup = SEED_RATES[(sell, buy)]
        quote = conversion_quote(amount=amount, sell=sell, buy=buy, rate=rate, markup=markup)
        ledger_convert(source="demo.conversion", key=key, client=client, quote=quote)

    def _adjustments(self, clients: list[Client]) -> None:
        staff = {u.email: u for u in User.objects.filter(email__endswith="@meridian.test")}
        for requester, decider, index, direction, amount, reason, text, outcome in ADJUSTMENTS:
            if ManualAdjustment.objects.filter(reason_text=text).exists():
                continue
            adjustment = adjustment_request(
                client=clients[index],
                currency="USD",
                direction=direction,
                amount=Decimal(amount),
                reason=reason,
                reason_text=text,
                actor=staff[requester],
            )
            if outcome == "approved" and decider:
                adjustment_approve(
                    adjustment_id=adjustment.pk, actor=staff[decider], note="Checked with the PSP."
                )
            elif outcome == "rejected" and decider:
                adjustment_reject(
                    adjustment_id=adjustment.pk,
                    actor=staff[decider],
                    note="The second credit was already reversed by the PSP; nothing to correct.",
                )

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
