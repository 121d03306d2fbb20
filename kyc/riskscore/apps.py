from django.apps import AppConfig


class RiskscoreConfig(AppConfig):
    name = "kyc.riskscore"
    label = "kyc_risk"
    verbose_name = "Client risk score"
