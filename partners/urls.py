from django.urls import path

from partners import views

app_name = "partners"

urlpatterns = [
    path("r/<str:code>/", views.referral_redirect, name="referral"),
    path("portal/partner/apply/", views.partner_apply_view, name="apply"),
    path("partners/", views.dashboard, name="dashboard"),
    path("partners/clients/", views.partner_clients, name="clients"),
    path("partners/clients/<int:pk>/", views.partner_client_detail, name="client-detail"),
    path("partners/sub-ibs/<int:pk>/", views.subpartner_detail, name="subpartner-detail"),
    path("partners/links/", views.referral_link_list, name="links"),
    path("partners/links/<int:pk>/", views.referral_link_detail, name="link-detail"),
    path("backoffice/partners/", views.backoffice_partner_list, name="backoffice-list"),
    path(
        "backoffice/partners/attributions/",
        views.backoffice_attribution_history,
        name="backoffice-attributions",
    ),
    path(
        "backoffice/partners/<int:pk>/", views.backoffice_partner_detail, name="backoffice-detail"
    ),
    path(
        "backoffice/partners/<int:pk>/decide/",
        views.backoffice_partner_decide,
        name="backoffice-decide",
    ),
    path(
        "backoffice/partners/<int:pk>/move/", views.backoffice_partner_move, name="backoffice-move"
    ),
    path(
        "backoffice/partners/clients/<int:pk>/attribution/",
        views.backoffice_client_attribution,
        name="backoffice-client-attribution",
    ),
]
