"""Demo data (shared/DEMO.md, "deposits through the demo payment provider"): the payment
methods, and a few deposits in every state, each made through the real path: deposit_create,
then the demo provider's signed callback through /webhooks/demo-pay/. Idempotent: a method is
made once, and a client who has deposits already gets no more."""

from __future__ import annotations

from decimal import Decimal

from brokerage.models import User
from clients.models import Client
from wallets.payments.models import Deposit, PaymentMethod
from wallets.payments.providers import provider_get
from wallets.payments.providers.base import EventKind
from wallets.payments.providers.demo import demo_callback
from wallets.payments.services import deposit_create, deposit_refund

METHODS = [
    {
        "code": "card-demo",
        "name": "Card (demo)",
        "provider": PaymentMethod.Provider.DEMO,
        "currencies": ["USD", "EUR"],
        "min_amount": Decimal("10"),
        "max_amount": Decimal("10000"),
        "fee_fixed": Decimal("0.30"),
        "fee_percent": Decimal("2.5"),
        "kyc_level": 1,
        "sort_order": 0,
    },
    {
        "code": "card-stripe",
        "name": "Card (Stripe)",
        "provider": PaymentMethod.Provider.STRIPE,
        "currencies": ["USD", "EUR", "GBP"],
        "min_amount": Decimal("10"),
        "max_amount": Decimal("10000"),
        "fee_fixed": Decimal("0.30"),
        "fee_percent": Decimal("2.9"),
        "kyc_level": 1,
        "sort_order": 1,
    },
]

# (currency, amount, what happens at the provider) for the first fully verified traders.
STORIES: list[tuple[str, str, str]] = [
    ("USD", "250.00", "success"),
    ("EUR", "1200.00", "success"),
    ("USD", "300.00", "pending"),  # the bank confirms later: the portal page polls
    ("USD", "150.00", "decline"),
    ("USD", "75.00", "expire"),  # the client left the payment page
    ("USD", "400.00", "refund"),  # credited, then refunded by finance
    ("USD", "500.00", "success"),
    ("EUR", "90.00", "abandon"),  # still on the provider's page
]


def seed_methods() -> dict[str, PaymentMethod]:
    methods = {}
    for spec in METHODS:
        if not provider_get(str(spec["provider"])).is_configured():
            continue  # Card (Stripe) only with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET
        fields = {k: v for k, v in spec.items() if k != "code"}
        method, _ = PaymentMethod.objects.get_or_create(code=spec["code"], defaults=fields)
        methods[str(spec["code"])] = method
    return methods


def _deliver(deposit: Deposit, kind: EventKind, reason: str = "") -> None:
    from wallets.payments.views import _deliver_demo_callback

    body, headers = demo_callback(deposit=deposit, kind=kind, reason=reason)
    response = _deliver_demo_callback(body, headers)
    if response.status_code != 200:
        raise RuntimeError(f"demo callback for deposit {deposit.pk}: {response.status_code}")


def seed() -> None:
    methods = seed_methods()
    card = methods["card-demo"]
    finance = User.objects.filter(email="finance@meridian.test").first()
    traders = list(
        Client.objects.filter(
            user__email__endswith="@traders.meridian.test", kyc_case__level=2
        ).order_by("pk")[: len(STORIES)]
    )
    for client, (currency, amount, story) in zip(traders, STORIES, strict=False):
        if Deposit.objects.filter(client=client).exists():
            continue
        deposit = deposit_create(
            client=client, method=card, currency=currency, amount=Decimal(amount)
        )
        if story in ("success", "refund"):
            _deliver(deposit, EventKind.SUCCEEDED)
        elif story == "pending":
            _deliver(deposit, EventKind.PENDING)
        elif story == "decline":
            _deliver(deposit, EventKind.FAILED, "Insufficient funds on the card (demo).")
        elif story == "expire":
            _deliver(deposit, EventKind.EXPIRED)
        if story == "refund" and finance is not None:
            deposit_refund(deposit_id=deposit.pk, actor=finance)
