from __future__ import annotations

from decimal import Decimal

import pytest

from clients import demo
from clients.models import TradingProduct, TradingServer

pytestmark = pytest.mark.django_db


def test_the_demo_products_are_seeded_once():
    TradingServer.objects.create(
        name="Meridian Live", url="http://127.0.0.1:8443", manager_login=1000
    )
    demo.seed()
    demo.seed()
    products = {p.name: p for p in TradingProduct.objects.select_related("server")}
    assert list(products) == ["Standard", "Pro", "Demo"]
    assert products["Standard"].leverage_choices == [50, 100, 200]
    assert products["Standard"].min_deposit == Decimal("100")
    assert products["Pro"].group == "real\\pro" and max(products["Pro"].leverage_choices) == 500
    assert not products["Demo"].is_live and products["Demo"].demo_balance == Decimal("10000")
    assert products["Demo"].server.url == "http://127.0.0.1:8443"
