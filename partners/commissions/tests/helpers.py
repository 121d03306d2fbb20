"""Test helpers: IB trees as Partner + PartnerPath rows, clients under an IB, deals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from clients.models import Client, Deal, TradingAccount, TradingServer
from partners.commissions.models import SymbolGroup
from partners.models import Attribution, Partner, PartnerPath
from tests.factories import ClientFactory, PartnerFactory

T0 = datetime(2026, 10, 1, tzinfo=UTC)
_tickets = itertools.count(1000)


def make_ib(name: str, parent: Partner | None = None) -> Partner:
    ib = PartnerFactory(name=name, parent=parent)  # registered: its tree paths exist
    assert PartnerPath.objects.filter(descendant=ib).count() == (
        1 + (PartnerPath.objects.filter(descendant=parent).count() if parent else 0)
    )
    return ib


def make_chain(*names: str) -> list[Partner]:
    """make_chain("Atlas", "Harbor", "Kite"): Atlas is the master, Kite the deepest."""
    chain: list[Partner] = []
    for name in names:
        chain.append(make_ib(name, chain[-1] if chain else None))
    return chain


def server() -> TradingServer:
    found, _ = TradingServer.objects.get_or_create(
        name="Test",
        defaults={"url": "http://127.0.0.1:1", "manager_login": 1, "password_sealed": ""},
    )
    return found


def client_of(ib: Partner, since: datetime = T0 - timedelta(days=60)) -> TradingAccount:
    client: Client = ClientFactory()
    Attribution.objects.create(client=client, partner=ib, source="link", valid_from=since)
    return TradingAccount.objects.create(
        client=client, server=server(), login=500000 + client.pk, group="real", leverage=100
    )


def deal(
    account: TradingAccount,
    *,
    symbol: str = "EURUSD",
    lots: Decimal | str = "1",
    time: datetime = T0,
    entry: int = 1,
    commission: Decimal | str = "0",
    position_id: int = 0,
    price: Decimal | str = "1.1",
) -> Deal:
    ticket = next(_tickets)
    return Deal.objects.create(
        server=account.server,
        ticket=ticket,
        login=account.login,
        position_id=position_id,
        action=0,
        entry=entry,
        symbol=symbol,
        volume_ext=int(Decimal(lots) * 100_000_000),
        price=Decimal(price),
        commission=-Decimal(commission),
        time=time,
        time_msc=int(time.timestamp() * 1000),
        synced_at=time,
    )


def groups() -> dict[str, SymbolGroup]:
    fx, _ = SymbolGroup.objects.get_or_create(
        code="fx", defaults={"name": "FX", "patterns": "EURUSD, GBPUSD, USDJPY, *USD"}
    )
    metals, _ = SymbolGroup.objects.get_or_create(
        code="metals", defaults={"name": "Metals", "patterns": "XAU*, XAG*", "priority": 5}
    )
    indices, _ = SymbolGroup.objects.get_or_create(
        code="indices",
        defaults={"name": "Indices", "patterns": "US30, NAS100", "lot_modifier": Decimal("0.4")},
    )
    return {"fx": fx, "metals": metals, "indices": indices}
