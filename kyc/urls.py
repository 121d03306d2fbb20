from django.urls import path

from kyc import views

app_name = "kyc"

urlpatterns = [
    path("portal/verification/", views.verification, name="verification"),
    path("backoffice/kyc/", views.queue, name="queue"),
]
