from django.urls import URLPattern

app_name = "kyc_providers"

urlpatterns: list[URLPattern] = []
