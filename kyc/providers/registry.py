"""Providers by name: every `Provider` subclass defined in `kyc.providers.backends`."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from kyc.providers import backends
from kyc.providers.base import Provider


class UnknownProvider(KeyError):
    pass


@cache
def provider_classes() -> dict[str, type[Provider]]:
    found: dict[str, type[Provider]] = {}
    for module_info in pkgutil.iter_modules(backends.__path__):
        module = importlib.import_module(f"{backends.__name__}.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Provider)
                and value.__module__ == module.__name__
                and not inspect.isabstract(value)
            ):
                if value.name in found:
                    raise RuntimeError(f"Two KYC providers are named {value.name!r}.")
                found[value.name] = value
    return found


def provider_names() -> list[str]:
    return sorted(provider_classes())


def provider_get(name: str) -> Provider:
    """A fresh provider instance (its HTTP client is made on first use)."""
    try:
        cls = provider_classes()[name]
    except KeyError:
        raise UnknownProvider(name) from None
    return cls()
