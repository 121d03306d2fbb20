from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "kyc.documents"
    label = "kyc_documents"
    verbose_name = "KYC documents"
