from django.urls import path

from kyc.riskscore import views

app_name = "kyc_risk"

urlpatterns = [
    path("backoffice/kyc/risk/", views.overview, name="overview"),
    path("backoffice/kyc/risk/countries/", views.countries, name="countries"),
    path("backoffice/kyc/risk/assessments/<int:pk>/", views.assessment_detail, name="assessment"),
    path(
        "backoffice/kyc/risk/assessments/<int:pk>/decide/",
        views.assessment_decide,
        name="assessment-decide",
    ),
    path("backoffice/kyc/risk/alerts/<int:pk>/", views.alert_detail, name="alert"),
    path("backoffice/kyc/risk/clients/<int:pk>/assess/", views.client_assess, name="client-assess"),
]
