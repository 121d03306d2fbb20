from django.urls import path

from kyc import views

app_name = "kyc"

urlpatterns = [
    path("portal/verification/", views.verification, name="verification"),
    path("backoffice/kyc/", views.queue, name="queue"),
    path("backoffice/kyc/funnel/", views.funnel, name="funnel"),
    path("backoffice/kyc/cases/<int:pk>/", views.case_detail, name="case"),
]
