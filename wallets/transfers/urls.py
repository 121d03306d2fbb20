from __future__ import annotations

from django.urls import path

from wallets.transfers import views

app_name = "transfers"

urlpatterns = [
    path("portal/transfer/", views.transfer_new, name="new"),
    path("portal/transfers/", views.transfer_list, name="list"),
    path("portal/transfers/<int:pk>/", views.transfer_detail, name="detail"),
    path("backoffice/transfers/", views.transfer_backoffice_list, name="backoffice-list"),
]
