from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "wallets.transfers"
    label = "transfers"
    verbose_name = "Transfers between wallets and trading accounts"
