from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.vary import vary_on_headers

from brokerage.audit import client_ip
from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from clients.selectors import client_get_for_user
from kyc.documents import selectors, services
from kyc.documents.exceptions import DocumentError
from kyc.documents.forms import DocumentReviewForm, DocumentUploadForm
from kyc.documents.models import Document, DocumentAccess


def _file_response(request: AuthedHttpRequest, document: Document) -> FileResponse:
    """Stream the stored file, and log who read it. `?download=1` asks for an attachment."""
    download = request.GET.get("download") == "1"
    services.document_access_log(
        document=document,
        user=request.user,
        action=DocumentAccess.Action.DOWNLOAD if download else DocumentAccess.Action.VIEW,
        ip=client_ip(request),
    )
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=download,
        filename=document.download_name,
        content_type=document.content_type,
    )
    # Identity documents must not linger in shared or browser caches.
    response["Cache-Control"] = "private, no-store"
    return response


# --- the trader's room ------------------------------------------------------------------------


@portal_view
@vary_on_headers("HX-Request")
def portal_documents(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    form = DocumentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            document = services.document_upload(
                client=client,
                kind=data["kind"],
                side=data["side"],
                upload=data["file"],
                uploaded_by=request.user,
                expires_on=data["expires_on"],
            )
        except DocumentError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                f"Thank you: your {document.get_kind_display().lower()} was received. "
                "We will check it and tell you when it is accepted.",
            )
            return redirect("kyc_documents:portal-documents")
    template = "kyc_documents/portal_documents.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#document-list"
    return render(
        request,
        template,
        {"form": form, "documents": selectors.document_list_for_client(client=client)},
    )


@portal_view
def portal_document_file(request: AuthedHttpRequest, pk: int) -> FileResponse:
    document = selectors.document_get_for_client(client=request.user.client, pk=pk)
    return _file_response(request, document)


# --- the back-office ------------------------------------------------------------------------


@backoffice_view("view_kyc")
def client_documents(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    client = client_get_for_user(user=request.user, pk=pk)
    documents = selectors.document_list_for_staff(user=request.user).filter(client=client)
    return render(
        request,
        "kyc_documents/client_documents.html",
        {"client": client, "documents": documents},
    )


@backoffice_view("view_kyc")
def document_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    document = selectors.document_get_for_staff(user=request.user, pk=pk)
    can_review = request.user.has_perm("brokerage.change_kyc")
    form = DocumentReviewForm(request.POST or None)
    if request.method == "POST":
        if not can_review:
            raise PermissionDenied("Only compliance may accept or reject documents.")
        if form.is_valid():
            try:
                document = services.document_review(
                    document=document,
                    actor=request.user,
                    decision=request.POST.get("decision", ""),
                    note=form.cleaned_data["note"],
                )
            except DocumentError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    f"{document.get_kind_display()} #{document.pk}: "
                    f"{document.get_status_display().lower()}.",
                )
                return redirect("kyc_documents:document", pk=document.pk)
    fields = document.mrz_fields or {}
    rows = [
        ("Surname", fields.get("surname")),
        ("Given names", fields.get("given_names")),
        ("Date of birth", fields.get("date_of_birth")),
        ("Nationality", fields.get("nationality")),
        ("Document number", fields.get("document_number")),
        ("Expires", fields.get("expires_on")),
        ("Sex", fields.get("sex")),
        ("Issuer", fields.get("issuer")),
        ("Format", fields.get("format")),
    ]
    return render(
        request,
        "kyc_documents/document_detail.html",
        {
            "document": document,
            "mrz_rows": rows if fields else [],
            "mrz_lines": fields.get("lines", []),
            "failed_checks": [name for name, ok in (document.mrz_checks or {}).items() if not ok],
            "accesses": selectors.document_access_list(document=document)[:20],
            "form": form,
            "can_review": can_review and document.status == Document.Status.UPLOADED,
        },
    )


@backoffice_view("view_kyc")
def document_file(request: AuthedHttpRequest, pk: int) -> FileResponse:
    document = selectors.document_get_for_staff(user=request.user, pk=pk)
    return _file_response(request, document)
