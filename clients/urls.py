from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("portal/", views.portal_home, name="portal-home"),
    path("backoffice/clients/", views.client_list, name="client-list"),
    path("backoffice/clients/<int:pk>/", views.client_detail, name="client-detail"),
]
