from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "partners.commissions"
    label = "commissions"
    verbose_name = "IB commissions"
