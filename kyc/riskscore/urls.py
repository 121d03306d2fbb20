from django.urls import URLPattern

app_name = "kyc_risk"

urlpatterns: list[URLPattern] = []
