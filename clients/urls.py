from django.urls import path

from clients import views

app_name = "clients"

urlpatterns = [
    path("portal/", views.portal_home, name="portal-home"),
    path("portal/accounts/", views.portal_accounts, name="portal-accounts"),
    path("portal/accounts/open/", views.portal_open_account, name="portal-open-account"),
    path("portal/accounts/<int:pk>/history/", views.portal_history, name="portal-history"),
    path("backoffice/clients/", views.client_list, name="client-list"),
    path("backoffice/clients/<int:pk>/", views.client_detail, name="client-detail"),
    path("backoffice/trading/", views.trading_health, name="trading-health"),
    path("backoffice/trading/products/", views.trading_products, name="trading-products"),
    path(
        "backoffice/trading/products/new/",
        views.trading_product_edit,
        name="trading-product-new",
    ),
    path(
        "backoffice/trading/products/<int:pk>/",
        views.trading_product_edit,
        name="trading-product-edit",
    ),
]
