from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "kyc.providers"
    label = "kyc_providers"
    verbose_name = "KYC providers"
