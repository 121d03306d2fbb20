"""Demo data of the trading products (shared/DEMO.md): Standard and Pro on the live server,
Demo on a demo server. Idempotent: run twice, same rows; a product staff edited is left alone.
No trading-server I/O here (seed_demo runs before the simulator starts)."""

from __future__ import annotations

from decimal import Decimal

from clients.models import TradingProduct, TradingServer

LIVE_SERVER = "Meridian Live"
DEMO_SERVER = "Meridian Demo"

PRODUCTS = [
    # name, server, group, leverage choices, default, minimum deposit, demo balance, text
    (
        "Standard",
        LIVE_SERVER,
        "real\\standard",
        [50, 100, 200],
        100,
        "100",
        "0",
        "Spreads from 1.2 pips, no commission. For most traders.",
    ),
    (
        "Pro",
        LIVE_SERVER,
        "real\\pro",
        [100, 200, 300, 500],
        500,
        "1000",
        "0",
        "Raw spreads from 0.0 pips plus a commission per lot; leverage up to 1:500.",
    ),
    (
        "Demo",
        DEMO_SERVER,
        "demo\\standard",
        [50, 100, 200, 500],
        100,
        "0",
        "10000",
        "Practise with 10,000 USD of virtual money on live prices. No verification needed.",
    ),
]


def seed() -> None:
    live = TradingServer.objects.filter(name=LIVE_SERVER).first()
    if live is None:
        return
    # DEMO.md's demo server runs on the same bundled simulator as the live one. It stays out
    # of the periodic sync (enabled=False): reading every group of the same simulator again
    # would store each live deal a second time under this server. Opening accounts and
    # crediting the virtual balance go to it directly and work as on a real demo server.
    demo, _ = TradingServer.objects.get_or_create(
        name=DEMO_SERVER,
        defaults={
            "url": live.url,
            "manager_login": live.manager_login,
            "password_sealed": live.password_sealed,
            "is_live": False,
            "enabled": False,
        },
    )
    if demo.url != live.url:
        TradingServer.objects.filter(pk=demo.pk).update(url=live.url)
    servers = {LIVE_SERVER: live, DEMO_SERVER: demo}
    for order, (name, server, group, choices, default, minimum, virtual, text) in enumerate(
        PRODUCTS, start=1
    ):
        TradingProduct.objects.get_or_create(
            name=name,
            defaults={
                "server": servers[server],
                "group": group,
                "currency": "USD",
                "leverage_choices": choices,
                "default_leverage": default,
                "min_deposit": Decimal(minimum),
                "demo_balance": Decimal(virtual),
                "sort_order": order,
                "description": text,
            },
        )
