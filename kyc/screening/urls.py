from django.urls import path

from kyc.screening import views

app_name = "screening"

urlpatterns = [
    path("backoffice/screening/", views.overview, name="overview"),
]
