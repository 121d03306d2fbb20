"""Storing documents, reading their MRZ, logging access, and the expiry reminders."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import transaction

from brokerage import roles
from kyc.documents import services
from kyc.documents.exceptions import DocumentError, UploadRefused
from kyc.documents.models import Document, DocumentAccess
from kyc.documents.selectors import document_expiring_list
from kyc.documents.tests.conftest import stored_files
from kyc.documents.tests.factories import DocumentFactory, jpeg_bytes, pdf_bytes, upload
from tests.factories import ClientFactory, make_staff

pytestmark = pytest.mark.django_db


def _upload(client, content=None, name="passport.jpg", kind="passport", side="front"):
    return services.document_upload(
        client=client,
        kind=kind,
        side=side,
        upload=upload(content or jpeg_bytes(gps=True), name),
        uploaded_by=client.user,
    )


def test_a_document_is_stored_privately_under_a_random_name(private_storage):
    client = ClientFactory()
    with mock.patch("kyc.documents.tasks.read_mrz.delay"):
        document = _upload(client, name="my passport.jpg")
    files = stored_files(private_storage)
    assert len(files) == 1
    path = files[0]
    assert path.name != "my passport.jpg" and "passport" not in str(path)
    assert len(path.stem) == 32 and path.suffix == ".jpg"  # a UUID's hex, nothing of the client's
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert not str(path).startswith(str(settings.STATIC_ROOT))
    with pytest.raises(ValueError, match="no URL"):
        document.file.url  # noqa: B018
    document.refresh_from_db()
    assert document.status == Document.Status.UPLOADED
    assert document.detected_type == "jpeg" and document.content_type == "image/jpeg"
    assert document.size == path.stat().st_size
    assert (document.width, document.height) == (80, 40)
    assert document.original_sha256 != document.sanitised_sha256
    import hashlib

    assert hashlib.sha256(path.read_bytes()).hexdigest() == document.sanitised_sha256
    assert document.mrz_status == Document.MrzStatus.PENDING


def test_a_refused_file_leaves_nothing_behind(private_storage):
    client = ClientFactory()
    with pytest.raises(UploadRefused):
        _upload(client, content=pdf_bytes(javascript=True), name="statement.pdf")
    assert Document.objects.count() == 0
    assert stored_files(private_storage) == []


def test_the_case_is_told_inside_the_same_transaction(private_storage):
    client = ClientFactory()
    seen = {}

    def hook(*, document):
        seen["in_atomic"] = transaction.get_connection().in_atomic_block
        seen["saved"] = Document.objects.filter(pk=document.pk).exists()

    with (
        mock.patch("kyc.hooks.document_uploaded", side_effect=hook) as called,
        mock.patch("kyc.documents.tasks.read_mrz.delay"),
    ):
        document = _upload(client)
    called.assert_called_once_with(document=document)
    assert seen == {"in_atomic": True, "saved": True}


def test_a_failing_hook_rolls_back_and_removes_the_file(private_storage):
    client = ClientFactory()
    with (
        mock.patch("kyc.hooks.document_uploaded", side_effect=RuntimeError("case is locked")),
        pytest.raises(RuntimeError),
    ):
        _upload(client)
    assert Document.objects.count() == 0
    assert stored_files(private_storage) == []


def test_mrz_reading_is_enqueued_after_commit_for_passports_only(
    django_capture_on_commit_callbacks,
):
    client = ClientFactory()
    with (
        mock.patch("kyc.documents.tasks.read_mrz.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        passport = _upload(client)
        delay.assert_not_called()  # not before the row is committed
    delay.assert_called_once_with(passport.pk)
    with (
        mock.patch("kyc.documents.tasks.read_mrz.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        bill = _upload(client, content=pdf_bytes(), name="bill.pdf", kind="proof_of_address")
    delay.assert_not_called()
    assert bill.mrz_status == Document.MrzStatus.NOT_APPLICABLE


def test_a_new_upload_supersedes_the_unreviewed_one_of_the_same_kind_and_side():
    client = ClientFactory()
    with mock.patch("kyc.documents.tasks.read_mrz.delay"):
        first = _upload(client)
        back = _upload(client, side="back")
        second = _upload(client)
    first.refresh_from_db()
    back.refresh_from_db()
    assert first.status == Document.Status.SUPERSEDED
    assert back.status == second.status == Document.Status.UPLOADED


def test_access_is_logged():
    document = DocumentFactory()
    access = services.document_access_log(
        document=document, user=document.client.user, action="download", ip="203.0.113.7"
    )
    assert DocumentAccess.objects.get() == access
    assert (access.action, access.ip, access.user) == (
        "download",
        "203.0.113.7",
        document.client.user,
    )


# --- expiry -------------------------------------------------------------------------------------

TODAY = dt.date(2026, 11, 25)


def test_expiring_identity_documents_within_30_days_by_default():
    soon = DocumentFactory(expires_on=TODAY + dt.timedelta(days=30))
    expired = DocumentFactory(expires_on=TODAY - dt.timedelta(days=1), kind="id_card")
    DocumentFactory(expires_on=TODAY + dt.timedelta(days=31))
    DocumentFactory(expires_on=TODAY + dt.timedelta(days=5), kind="proof_of_address")
    DocumentFactory(expires_on=TODAY + dt.timedelta(days=5), status="superseded")
    DocumentFactory(expires_on=None)
    assert list(document_expiring_list(today=TODAY)) == [expired, soon]
    assert list(document_expiring_list(today=TODAY, within_days=0)) == [expired]


def test_the_client_is_mailed_once_per_expiring_document():
    document = DocumentFactory(
        expires_on=TODAY + dt.timedelta(days=10), client__user__email="anna@example.test"
    )
    DocumentFactory(expires_on=TODAY + dt.timedelta(days=90))
    assert services.document_expiry_reminders_send(today=TODAY) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["anna@example.test"]
    assert "Your passport expires on 05 December 2026" in message.subject
    assert "please upload a new one" in message.body
    assert services.document_expiry_reminders_send(today=TODAY) == 0
    assert len(mail.outbox) == 1
    document.refresh_from_db()
    assert document.expiry_notice_sent_at is not None


def test_a_failed_mail_is_tried_again_next_day():
    document = DocumentFactory(expires_on=TODAY + dt.timedelta(days=10))
    with mock.patch("kyc.documents.services.send_mail", side_effect=OSError("smtp down")):
        assert services.document_expiry_reminders_send(today=TODAY) == 0
    document.refresh_from_db()
    assert document.expiry_notice_sent_at is None
    assert services.document_expiry_reminders_send(today=TODAY) == 1


def test_the_reminder_task_runs_daily_on_the_default_queue():
    from kyc.documents.tasks import expiry_reminders

    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == expiry_reminders.name
    ]
    assert entry["options"]["queue"] == "default"
    assert entry["schedule"].hour == {7} and entry["schedule"].minute == {0}
    assert settings.CELERY_TASK_ROUTES["kyc.documents.tasks.*"] == {"queue": "default"}


# --- review -------------------------------------------------------------------------------------


def test_accepting_supersedes_the_earlier_accepted_document_of_that_side():
    officer = make_staff(roles.COMPLIANCE)
    old = DocumentFactory(status="accepted")
    other_side = DocumentFactory(client=old.client, status="accepted", side="back")
    new = DocumentFactory(client=old.client)
    reviewed = services.document_review(document=new, actor=officer, decision="accepted")
    assert (reviewed.status, reviewed.reviewed_by, reviewed.review_note) == (
        "accepted",
        officer,
        "",
    )
    assert reviewed.reviewed_at is not None
    old.refresh_from_db()
    other_side.refresh_from_db()
    assert (old.status, other_side.status) == ("superseded", "accepted")


def test_a_rejection_needs_a_reason_the_client_can_read():
    document = DocumentFactory()
    officer = make_staff(roles.COMPLIANCE)
    with pytest.raises(DocumentError, match="Say why the document is rejected") as caught:
        services.document_review(document=document, actor=officer, decision="rejected", note=" ")
    assert caught.value.field == "note"
    services.document_review(
        document=document, actor=officer, decision="rejected", note="The photo is blurred."
    )
    document.refresh_from_db()
    assert (document.status, document.review_note) == ("rejected", "The photo is blurred.")


def test_a_document_is_decided_once():
    document = DocumentFactory()
    officer = make_staff(roles.COMPLIANCE)
    services.document_review(document=document, actor=officer, decision="accepted")
    with pytest.raises(DocumentError, match="already reviewed or replaced"):
        services.document_review(document=document, actor=officer, decision="rejected", note="x")
    document.refresh_from_db()
    assert document.status == "accepted"


def test_a_broker_outage_does_not_fail_the_stored_upload(django_capture_on_commit_callbacks):
    client = ClientFactory()
    with (
        mock.patch("kyc.documents.tasks.read_mrz.delay", side_effect=ConnectionError("redis")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        document = _upload(client)
    document.refresh_from_db()
    assert document.mrz_status == Document.MrzStatus.PENDING
