"""The portal upload page, the permission-checked file endpoints, the compliance viewer;
with the owner, another client (the outsider) and staff."""

from __future__ import annotations

from unittest import mock

import pytest

from brokerage import roles
from kyc.documents.models import Document, DocumentAccess
from kyc.documents.tests.conftest import stored_files
from kyc.documents.tests.factories import DocumentFactory, jpeg_bytes, pdf_bytes, upload
from tests.factories import ClientFactory, login_staff, make_staff

pytestmark = pytest.mark.django_db

PAGE = "/portal/verification/documents/"


@pytest.fixture
def owner(client):
    trader = ClientFactory(user__first_name="Anna", user__last_name="Eriksson")
    client.force_login(trader.user)
    return trader


def test_the_upload_page_offers_the_camera_and_lists_the_clients_documents(client, owner):
    mine = DocumentFactory(client=owner, kind="id_card", status="accepted")
    DocumentFactory()  # someone else's
    response = client.get(PAGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'accept="image/*,application/pdf"' in body
    assert 'capture="environment"' in body
    assert 'enctype="multipart/form-data"' in body
    assert list(response.context["documents"]) == [mine]
    assert '<span class="status status-ok">Accepted</span>' in body
    assert f"/portal/verification/documents/{mine.pk}/file/" in body
    assert "<script>" not in body and " style=" not in body  # CSP: nothing inline


def test_an_empty_page_says_what_to_do(client, owner):
    assert "You have not sent any documents yet" in client.get(PAGE).content.decode()


def test_htmx_gets_only_the_list(client, owner):
    response = client.get(PAGE, HTTP_HX_REQUEST="true")
    assert response.content.decode().lstrip().startswith('<section id="document-list"')


def test_a_good_upload_is_stored_and_the_client_is_told(client, owner, private_storage):
    with mock.patch("kyc.documents.tasks.read_mrz.delay"):
        response = client.post(
            PAGE,
            {
                "kind": "passport",
                "side": "front",
                "file": upload(jpeg_bytes(gps=True), "IMG_1.jpg"),
            },
            follow=True,
        )
    assert response.redirect_chain == [(PAGE, 302)]
    document = Document.objects.get()
    assert document.client == owner and document.uploaded_by == owner.user
    assert "your passport was received" in response.content.decode()
    assert len(stored_files(private_storage)) == 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (
            pdf_bytes(),
            "passport.jpg",
            "The file is a PDF but its name ends in .jpg; rename it to .pdf or send another file.",
        ),
        (
            pdf_bytes(javascript=True),
            "passport.pdf",
            "The PDF contains scripts, actions or attached files (/JS, /JavaScript), which we "
            "do not accept. Please send a plain scan or a photo.",
        ),
    ],
)
def test_a_refused_file_is_a_field_error_and_nothing_is_stored(
    client, owner, private_storage, content, name, message
):
    response = client.post(
        PAGE, {"kind": "passport", "side": "front", "file": upload(content, name)}
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": [message]}
    assert 'id="id_file_error"' in response.content.decode()
    assert Document.objects.count() == 0
    assert stored_files(private_storage) == []


def test_missing_choices_are_field_errors(client, owner):
    response = client.post(PAGE, {"side": "front"})
    assert response.context["form"].errors == {
        "kind": ["Choose which document this is."],
        "file": ["Choose a photo or a PDF of the document."],
    }


def test_the_owner_views_and_downloads_their_document_and_each_access_is_logged(client, owner):
    document = DocumentFactory(client=owner)
    url = f"/portal/verification/documents/{document.pk}/file/"
    response = client.get(url, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["Cache-Control"] == "private, no-store"
    with document.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()
    download = client.get(url + "?download=1")
    assert download["Content-Disposition"] == f'attachment; filename="passport-{document.pk}.png"'
    assert list(DocumentAccess.objects.order_by("pk").values_list("user", "action", "ip")) == [
        (owner.user.pk, "view", "198.51.100.4"),
        (owner.user.pk, "download", "127.0.0.1"),
    ]


def test_an_outsider_gets_404_for_someone_elses_document(client, owner):
    theirs = DocumentFactory()
    response = client.get(f"/portal/verification/documents/{theirs.pk}/file/")
    assert response.status_code == 404
    assert DocumentAccess.objects.count() == 0


def test_compliance_sees_the_document_with_its_mrz_reading_and_mismatches(client):
    document = DocumentFactory(
        client__user__first_name="Annabel",
        mrz_status=Document.MrzStatus.INVALID,
        mrz_fields={
            "surname": "ERIKSSON",
            "given_names": "ANNA MARIA",
            "date_of_birth": "1974-08-12",
            "nationality": "UTO",
            "document_number": "L898902C3",
            "expires_on": "2034-04-15",
            "lines": ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"],
        },
        mrz_checks={"document_number": True, "date_of_birth": False},
        mrz_mismatches=[{"field": "first_name", "typed": "Annabel", "document": "ANNA MARIA"}],
    )
    officer = make_staff(roles.COMPLIANCE)
    login_staff(client, officer)
    body = client.get(f"/backoffice/kyc/documents/{document.pk}/").content.decode()
    assert (
        f'<img class="document-image" src="/backoffice/kyc/documents/{document.pk}/file/"' in body
    )
    assert "L898902C3" in body and "1974-08-12" in body and "ANNA MARIA" in body
    assert "Check digits wrong" in body and "date_of_birth" in body
    assert "First name: typed “Annabel”, document says “ANNA MARIA”" in body
    # The page itself reads no file; the image it shows does, and is logged.
    assert DocumentAccess.objects.count() == 0
    response = client.get(f"/backoffice/kyc/documents/{document.pk}/file/")
    assert response.status_code == 200
    assert DocumentAccess.objects.get().user == officer


def test_a_pdf_is_a_link_not_an_image(client):
    document = DocumentFactory(detected_type="pdf", content_type="application/pdf", page_count=2)
    login_staff(client, make_staff(roles.COMPLIANCE))
    body = client.get(f"/backoffice/kyc/documents/{document.pk}/").content.decode()
    assert "<img" not in body.split("<main", 1)[1]
    assert f'<a href="/backoffice/kyc/documents/{document.pk}/file/">Open the PDF</a>' in body


def test_the_clients_document_list_for_compliance(client):
    document = DocumentFactory(kind="id_card", side="back")
    DocumentFactory()  # another client's
    login_staff(client, make_staff(roles.COMPLIANCE))
    response = client.get(f"/backoffice/kyc/clients/{document.client_id}/documents/")
    assert list(response.context["documents"]) == [document]
    assert f"/backoffice/kyc/documents/{document.pk}/" in response.content.decode()


def test_staff_without_the_kyc_permission_may_not_open_a_file(client):
    document = DocumentFactory()
    login_staff(client, make_staff(roles.FINANCE))
    assert client.get(f"/backoffice/kyc/documents/{document.pk}/file/").status_code == 403
    assert DocumentAccess.objects.count() == 0


def test_a_trader_cannot_use_the_back_office_endpoint_even_for_their_own_document(client, owner):
    document = DocumentFactory(client=owner)
    assert client.get(f"/backoffice/kyc/documents/{document.pk}/file/").status_code == 403
    assert DocumentAccess.objects.count() == 0


def test_a_missing_document_is_404_for_staff(client):
    login_staff(client, make_staff(roles.COMPLIANCE))
    assert client.get("/backoffice/kyc/documents/999999/file/").status_code == 404


def test_compliance_rejects_with_a_reason_and_the_client_reads_it(client):
    document = DocumentFactory()
    officer = make_staff(roles.COMPLIANCE)
    login_staff(client, officer)
    url = f"/backoffice/kyc/documents/{document.pk}/"
    refused = client.post(url, {"decision": "rejected", "note": ""})
    assert refused.context["form"].errors == {
        "note": ["Say why the document is rejected; the client reads this to send a better one."]
    }
    response = client.post(url, {"decision": "rejected", "note": "The corners are cut off."})
    assert response.status_code == 302
    document.refresh_from_db()
    assert (document.status, document.reviewed_by) == ("rejected", officer)
    assert "Decide" not in client.get(url).content.decode()
    client.force_login(document.client.user)
    body = client.get(PAGE).content.decode()
    assert "Rejected</span> <small>The corners are cut off.</small>" in body


def test_an_auditor_sees_the_document_but_may_not_decide(client):
    document = DocumentFactory()
    login_staff(client, make_staff(roles.AUDITOR))
    url = f"/backoffice/kyc/documents/{document.pk}/"
    assert "Decide" not in client.get(url).content.decode()
    assert client.post(url, {"decision": "accepted"}).status_code == 403
    document.refresh_from_db()
    assert document.status == "uploaded"
