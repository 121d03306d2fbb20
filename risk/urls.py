from django.urls import path

from risk import views

app_name = "risk"

urlpatterns = [
    path("backoffice/risk/", views.overview, name="overview"),
]
