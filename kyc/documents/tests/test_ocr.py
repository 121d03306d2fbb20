"""Reading the MRZ from a photo: passporteye and tesseract on a synthetic passport page."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from django.core.files.base import ContentFile

from kyc.documents import ocr
from kyc.documents.models import Document
from kyc.documents.services import document_read_mrz
from kyc.documents.tasks import read_mrz
from kyc.documents.tests.factories import DocumentFactory, mrz_card_image, mrz_image, png_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _tesseract():
    # A failure, not a skip: a run without the OCR must not pass as complete (.ci/run
    # installs Debian's tesseract-ocr).
    if not shutil.which("tesseract"):
        pytest.fail("tesseract not found: apt-get install tesseract-ocr", pytrace=False)


# ICAO 9303 part 4's specimen passport, with an expiry in the future so the prefilled date
# is a useful one (check digits recomputed: 340415 -> 9, composite -> 6).
VALID = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F3404159ZE184226B<<<<<16",
]
# The same with the birth date's check digit wrong (2 -> 5).
BROKEN = [VALID[0], VALID[1][:19] + "5" + VALID[1][20:]]


def test_the_specimen_lines_used_here_are_themselves_valid():
    from kyc.documents import mrz

    assert mrz.parse(VALID).valid
    assert mrz.parse(BROKEN).failed_checks == ["date_of_birth", "composite"]


def _passport(lines, **fields) -> Document:
    return DocumentFactory(
        file=ContentFile(mrz_image(lines), name="document.png"),
        mrz_status=Document.MrzStatus.PENDING,
        **fields,
    )


def test_a_valid_mrz_is_read_prefilled_and_compared_with_the_profile():
    document = _passport(
        VALID,
        client__user__first_name="Anna",
        client__user__last_name="Eriksson",
        client__country="DE",
    )
    assert read_mrz.apply(args=[document.pk]).get() == "valid"
    document.refresh_from_db()
    assert document.mrz_status == Document.MrzStatus.VALID
    fields = document.mrz_fields
    assert fields["surname"] == "ERIKSSON"
    assert fields["given_names"] == "ANNA MARIA"
    assert fields["date_of_birth"] == "1974-08-12"
    assert fields["nationality"] == "UTO"
    assert fields["document_number"] == "L898902C3"
    assert fields["expires_on"] == "2034-04-15"
    assert fields["lines"] == VALID
    assert all(document.mrz_checks.values())
    assert document.expires_on == dt.date(2034, 4, 15)  # prefilled for the reviewer
    # The name agrees; the profile's country (Germany) is not the document's nationality.
    assert document.mrz_mismatches == [{"field": "country", "typed": "DE", "document": "UTO"}]


def test_a_broken_check_digit_is_flagged_and_nothing_is_prefilled_from_it():
    document = _passport(
        BROKEN, client__user__first_name="Annabel", client__user__last_name="Eriksson"
    )
    document = document_read_mrz(document=document)
    assert document.mrz_status == Document.MrzStatus.INVALID
    assert document.mrz_checks["date_of_birth"] is False
    assert document.mrz_checks["composite"] is False
    assert document.mrz_checks["document_number"] is True
    assert {"field": "first_name", "typed": "Annabel", "document": "ANNA MARIA"} in (
        document.mrz_mismatches
    )


def test_an_id_card_td1_zone_is_read_from_a_photo():
    td1 = [
        "I<UTOD231458907<<<<<<<<<<<<<<<",
        "7408122F1204159UTO<<<<<<<<<<<6",
        "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
    ]
    document = DocumentFactory(
        kind="id_card",
        side="back",
        file=ContentFile(mrz_card_image(td1), name="document.png"),
        client__user__first_name="Anna",
        client__user__last_name="Eriksson",
        client__country="",
    )
    document = document_read_mrz(document=document)
    assert document.mrz_status == Document.MrzStatus.VALID
    assert document.mrz_fields["format"] == "TD1"
    assert document.mrz_fields["document_number"] == "D23145890"
    assert document.mrz_mismatches == []


def test_a_photo_without_a_zone_is_noted():
    document = DocumentFactory(file=ContentFile(png_bytes((600, 400)), name="document.png"))
    document = document_read_mrz(document=document)
    assert document.mrz_status == Document.MrzStatus.NOT_FOUND
    assert document.mrz_fields == {} and document.expires_on is None


def test_an_ocr_failure_is_recorded_not_raised(monkeypatch):
    def broken(image_bytes):
        raise ocr.OcrUnavailable("tesseract is not installed")

    monkeypatch.setattr(ocr, "read_zone", broken)
    document = document_read_mrz(document=DocumentFactory())
    assert document.mrz_status == Document.MrzStatus.FAILED
