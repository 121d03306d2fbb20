from django.apps import AppConfig


class WithdrawalsConfig(AppConfig):
    name = "wallets.withdrawals"
    label = "withdrawals"
    verbose_name = "Withdrawals"
