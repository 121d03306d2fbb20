from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "wallets.payments"
    label = "payments"
    verbose_name = "Payments (deposits through payment providers)"
