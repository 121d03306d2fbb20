from django.urls import path

from wallets import views

app_name = "wallets"

urlpatterns = [
    # the trader's room: their own wallets only
    path("portal/wallets/", views.wallet_list, name="wallet-list"),
    path("portal/wallets/convert/", views.wallet_convert_view, name="convert"),
    path("portal/wallets/<str:currency>/statement/", views.wallet_statement, name="statement"),
    # back-office
    path("backoffice/payments/", views.payments, name="payments"),
    path("backoffice/ledger/", views.ledger_accounts, name="ledger-accounts"),
    path("backoffice/ledger/accounts/<int:pk>/", views.ledger_account, name="ledger-account"),
    path("backoffice/ledger/journals/", views.ledger_journals, name="ledger-journals"),
    path("backoffice/ledger/journals/<int:pk>/", views.ledger_journal, name="ledger-journal"),
    path(
        "backoffice/ledger/trial-balance/",
        views.ledger_trial_balance,
        name="ledger-trial-balance",
    ),
    path("backoffice/ledger/fx-rates/", views.fx_rates, name="ledger-fx-rates"),
    path("backoffice/ledger/fx-rates/new/", views.fx_rate_new, name="ledger-fx-rate-new"),
    path("backoffice/ledger/fx-rates/<int:pk>/", views.fx_rate_edit, name="ledger-fx-rate-edit"),
    path("backoffice/adjustments/", views.adjustments, name="adjustments"),
    path("backoffice/adjustments/new/", views.adjustment_new, name="adjustment-new"),
    path("backoffice/adjustments/<int:pk>/", views.adjustment_detail, name="adjustment"),
]
