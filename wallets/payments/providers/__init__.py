"""Payment providers by name: one module per provider, registered here."""

from __future__ import annotations

from wallets.payments.providers.base import PaymentProvider
from wallets.payments.providers.demo import DemoProvider
from wallets.payments.providers.stripe import StripeProvider

_PROVIDERS: dict[str, type[PaymentProvider]] = {p.name: p for p in (DemoProvider, StripeProvider)}


class UnknownProvider(LookupError):
    pass


def provider_get(name: str) -> PaymentProvider:
    try:
        return _PROVIDERS[name]()
    except KeyError:
        raise UnknownProvider(name) from None


def provider_names() -> list[str]:
    return list(_PROVIDERS)


def configured_provider_names() -> list[str]:
    return [name for name, cls in _PROVIDERS.items() if cls().is_configured()]
