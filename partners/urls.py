from django.urls import path

from partners import views

app_name = "partners"

urlpatterns = [
    path("partners/", views.dashboard, name="dashboard"),
    path("backoffice/partners/", views.backoffice_partner_list, name="backoffice-list"),
]
