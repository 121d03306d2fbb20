from django.apps import AppConfig


class ScreeningConfig(AppConfig):
    name = "kyc.screening"
    label = "screening"
    verbose_name = "Sanctions and PEP screening"
