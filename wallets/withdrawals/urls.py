from __future__ import annotations

from django.urls import URLPattern, path

from wallets.withdrawals import views

app_name = "withdrawals"

urlpatterns: list[URLPattern] = [
    # the trader's room: their own withdrawals only
    path("portal/withdraw/", views.withdraw, name="withdraw"),
    path("portal/withdrawals/", views.portal_list, name="portal-list"),
    path("portal/withdrawals/<int:pk>/", views.portal_detail, name="portal-detail"),
    # back-office (finance)
    path("backoffice/payments/withdrawals/", views.queue, name="queue"),
    path("backoffice/payments/withdrawals/<int:pk>/", views.detail, name="detail"),
]
