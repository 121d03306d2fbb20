from django.urls import path

from wallets.payments import views

app_name = "payments"

urlpatterns = [
    # the trader's room: their own deposits only
    path("portal/deposit/", views.deposit_new, name="deposit-new"),
    path("portal/deposit/<int:pk>/", views.deposit_detail, name="deposit"),
    path("portal/deposits/", views.deposit_list, name="deposit-list"),
    # the demo provider's hosted page (its random reference is the key, as on a real PSP)
    path("pay/demo/<str:ref>/", views.demo_page, name="demo-page"),
    # providers' signed webhooks
    path("webhooks/stripe/", views.webhook, {"provider": "stripe"}, name="webhook-stripe"),
    path("webhooks/demo-pay/", views.webhook, {"provider": "demo"}, name="webhook-demo"),
    # back-office
    path("backoffice/payments/deposits/", views.backoffice_deposits, name="backoffice-deposits"),
    path(
        "backoffice/payments/deposits/<int:pk>/",
        views.backoffice_deposit,
        name="backoffice-deposit",
    ),
    path("backoffice/payments/methods/", views.methods, name="methods"),
    path("backoffice/payments/methods/<int:pk>/", views.method_edit, name="method-edit"),
]
