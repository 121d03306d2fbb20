from django.urls import URLPattern

app_name = "kyc_documents"

urlpatterns: list[URLPattern] = []
