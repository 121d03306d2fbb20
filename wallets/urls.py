from django.urls import path

from wallets import views

app_name = "wallets"

urlpatterns = [
    path("portal/wallets/", views.wallet_list, name="wallet-list"),
    path("backoffice/payments/", views.payments, name="payments"),
]
