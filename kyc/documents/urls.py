from django.urls import path

from kyc.documents import views

app_name = "kyc_documents"

urlpatterns = [
    # the trader's room: their own documents only
    path("portal/verification/documents/", views.portal_documents, name="portal-documents"),
    path(
        "portal/verification/documents/<int:pk>/file/",
        views.portal_document_file,
        name="portal-file",
    ),
    # back-office (compliance)
    path(
        "backoffice/kyc/clients/<int:pk>/documents/",
        views.client_documents,
        name="client-documents",
    ),
    path("backoffice/kyc/documents/<int:pk>/", views.document_detail, name="document"),
    path("backoffice/kyc/documents/<int:pk>/file/", views.document_file, name="file"),
]
