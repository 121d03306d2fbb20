"""The upload checks, on real files made on the spot: the type by magic bytes, the sizes,
pixel bombs, active PDFs, a virus scanner's verdict; and what sanitising leaves of a photo."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from kyc.documents.exceptions import UploadRefused
from kyc.documents.tests.factories import heic_bytes, jpeg_bytes, pdf_bytes, png_bytes, upload
from kyc.documents.uploads import sanitise

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def refusal(content: bytes, name: str) -> str:
    with pytest.raises(UploadRefused) as caught:
        sanitise(upload=upload(content, name))
    assert caught.value.field == "file"
    return caught.value.message


def test_pdf_bytes_named_jpg_are_refused():
    assert refusal(pdf_bytes(), "passport.jpg") == (
        "The file is a PDF but its name ends in .jpg; rename it to .pdf or send another file."
    )


def test_jpeg_named_pdf_is_refused():
    assert refusal(jpeg_bytes(), "scan.pdf") == (
        "The file is a JPEG but its name ends in .pdf; rename it to .jpeg or send another file."
    )


@pytest.mark.parametrize(
    "content",
    [b"GIF89a" + b"\x00" * 100, b"<html><script>alert(1)</script></html>", EICAR, b"MZ\x90\x00"],
)
def test_anything_but_jpeg_png_heic_or_pdf_is_refused_whatever_its_name(content):
    assert refusal(content, "passport.jpg") == (
        "This file is not a photo (JPEG, PNG or HEIC) or a PDF. Please send one of those."
    )


def test_an_empty_file_is_refused():
    assert refusal(b"", "passport.jpg") == "The file is empty."


def test_an_image_over_10_mb_is_refused():
    content = jpeg_bytes() + b"\x00" * (10 * 1024 * 1024)
    assert refusal(content, "passport.jpg") == "A photo may be at most 10 MB; this file is 10 MB."


def test_a_pdf_over_20_mb_is_refused():
    content = pdf_bytes() + b"\n%" + b"x" * (20 * 1024 * 1024)
    assert refusal(content, "statement.pdf") == (
        "The file is larger than 20 MB, the most we accept."
    )


def test_a_pdf_between_10_and_20_mb_passes_the_size_check():
    content = pdf_bytes() + b"\n%" + b"x" * (12 * 1024 * 1024)
    clean = sanitise(upload=upload(content, "statement.pdf"))
    assert clean.page_count == 1


BOMB = "The image is too large in pixels (more than 40 megapixels). Please send a smaller photo."


def test_a_pixel_bomb_over_40_megapixels_is_refused():
    # 9,000 x 5,000 one-bit pixels: 45 MP in a file of a few kilobytes.
    content = png_bytes((9000, 5000), mode="1")
    assert len(content) < 100_000
    assert refusal(content, "passport.png") == BOMB


def test_a_pixel_bomb_past_pillows_own_limit_is_refused():
    # 100 MP: past twice MAX_IMAGE_PIXELS, where Pillow raises DecompressionBombError itself.
    assert refusal(png_bytes((10000, 10000), mode="1"), "passport.png") == BOMB


def test_a_damaged_image_is_refused():
    content = jpeg_bytes()[:200]
    assert (
        refusal(content, "passport.jpg") == "The image could not be read; the file may be damaged."
    )


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"javascript": True}, "/JS, /JavaScript"),
        ({"attachment": True}, "/EmbeddedFile, /EmbeddedFiles"),
        ({"open_action": True}, "/OpenAction"),
        ({"launch": True}, "/Launch"),
    ],
)
def test_active_pdfs_are_refused(options, names):
    assert refusal(pdf_bytes(**options), "statement.pdf") == (
        f"The PDF contains scripts, actions or attached files ({names}), which we do not "
        "accept. Please send a plain scan or a photo."
    )


def test_an_encrypted_pdf_is_refused():
    assert refusal(pdf_bytes(encrypted=True), "statement.pdf") == (
        "The PDF is password-protected or encrypted. Please send it without a password."
    )


def test_a_damaged_pdf_is_refused():
    assert refusal(b"%PDF-1.7\n" + b"garbage" * 10, "statement.pdf") == (
        "The PDF could not be read; the file may be damaged."
    )


def test_a_plain_pdf_is_kept_as_sent():
    content = pdf_bytes()
    clean = sanitise(upload=upload(content, "Statement.PDF"))
    assert clean.content == content
    assert clean.detected_type == "pdf" and clean.content_type == "application/pdf"
    assert clean.original_sha256 == clean.sanitised_sha256
    assert clean.page_count == 1


def test_no_gps_or_other_exif_survives_and_the_photo_is_turned_upright():
    # Orientation 6: the camera was held sideways; the stored pixels must be upright.
    original = jpeg_bytes((80, 40), gps=True, orientation=6)
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    clean = sanitise(upload=upload(original, "IMG_0001.JPG"))
    stored = Image.open(io.BytesIO(clean.content))
    exif = stored.getexif()
    assert dict(exif) == {}
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"PhoneCam" not in clean.content
    assert (stored.width, stored.height) == (40, 80) == (clean.width, clean.height)
    assert clean.detected_type == "jpeg" and clean.extension == "jpg"
    assert clean.original_sha256 != clean.sanitised_sha256


def test_png_is_re_encoded_without_trailing_data():
    original = png_bytes() + b"<?php system($_GET['c']); ?>"
    clean = sanitise(upload=upload(original, "passport.png"))
    assert b"php" not in clean.content
    assert clean.extension == "png" and Image.open(io.BytesIO(clean.content)).format == "PNG"


def test_heic_from_a_phone_is_stored_as_jpeg():
    clean = sanitise(upload=upload(heic_bytes(), "IMG_0002.HEIC"))
    assert clean.detected_type == "heic"
    assert clean.extension == "jpg" and clean.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(clean.content)).format == "JPEG"
    assert (clean.width, clean.height) == (64, 48)


class FakeClamd:
    """clamd's INSTREAM answer, as its client returns it."""

    verdict = ("OK", None)
    scanned: list[bytes] = []

    def __init__(self, path="", timeout=None, host="", port=0):
        self.path = path

    def instream(self, buffer):
        FakeClamd.scanned.append(buffer.read())
        return {"stream": self.verdict}


@pytest.fixture
def clamd_socket(settings, monkeypatch):
    import clamd

    settings.KYC_CLAMD_SOCKET = "/run/clamav/clamd.ctl"
    FakeClamd.scanned = []
    monkeypatch.setattr(clamd, "ClamdUnixSocket", FakeClamd)
    return FakeClamd


def test_eicar_found_by_clamd_is_refused(clamd_socket, monkeypatch):
    monkeypatch.setattr(clamd_socket, "verdict", ("FOUND", "Eicar-Test-Signature"))
    content = jpeg_bytes() + EICAR
    assert refusal(content, "passport.jpg") == (
        "The file contains a virus or malware (Eicar-Test-Signature) and was not accepted."
    )
    assert clamd_socket.scanned == [content]


def test_a_clean_scan_lets_the_file_through(clamd_socket):
    content = jpeg_bytes()
    assert sanitise(upload=upload(content, "passport.jpg")).detected_type == "jpeg"
    assert clamd_socket.scanned == [content]


def test_an_unreachable_scanner_refuses_rather_than_letting_files_through(settings, tmp_path):
    settings.KYC_CLAMD_SOCKET = str(tmp_path / "no-clamd.sock")
    assert refusal(jpeg_bytes(), "passport.jpg") == (
        "We could not scan the file for viruses just now. Please try again in a few minutes."
    )


def test_without_a_scanner_configured_nothing_is_scanned(monkeypatch):
    import clamd

    def no_scanner(*args, **kwargs):
        raise AssertionError("clamd must not be called")

    monkeypatch.setattr(clamd, "ClamdUnixSocket", no_scanner)
    monkeypatch.setattr(clamd, "ClamdNetworkSocket", no_scanner)
    assert sanitise(upload=upload(jpeg_bytes(), "passport.jpg")).detected_type == "jpeg"
