from typing import Any

from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Wallets and payments"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Infrastructure, like the roles: the currencies the ledger knows (added by migration
        # 0002) come back after any flush, e.g. between transactional tests, which otherwise
        # leave a database in which no wallet can open.
        post_migrate.connect(_sync_currencies, sender=self, dispatch_uid="wallets-currencies-sync")


def _sync_currencies(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from importlib import import_module

    from wallets.models import Currency

    currencies = import_module("wallets.migrations.0002_ledger_walls_and_functions").CURRENCIES
    for code, exponent, name in currencies:
        Currency.objects.using(using).get_or_create(
            code=code, defaults={"exponent": exponent, "name": name}
        )
