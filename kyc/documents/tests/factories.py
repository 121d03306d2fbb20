"""Files and documents for tests: real images and PDFs made on the spot."""

from __future__ import annotations

import io

import factory
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageDraw, ImageFont
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from kyc.documents.models import Document
from tests.factories import ClientFactory

MONO_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
SANS_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def png_bytes(size: tuple[int, int] = (60, 40), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "white" if mode != "1" else 1).save(out, format="PNG")
    return out.getvalue()


def jpeg_bytes(
    size: tuple[int, int] = (80, 40), *, gps: bool = False, orientation: int = 1
) -> bytes:
    """A JPEG with EXIF: a camera orientation and, if asked, where the photo was taken."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCam"
    if gps:
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    image = Image.new("RGB", size, "white")
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 2, size[1] // 2), fill="red")
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def heic_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, format="HEIF")
    return out.getvalue()


def pdf_bytes(
    *,
    javascript: bool = False,
    encrypted: bool = False,
    attachment: bool = False,
    open_action: bool = False,
    launch: bool = False,
) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if javascript:
        # A document-level script in the /Names tree, as Acrobat writes one.
        script = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hello');"),
            }
        )
        tree = DictionaryObject(
            {NameObject("/Names"): ArrayObject([TextStringObject("x"), writer._add_object(script)])}
        )
        writer.root_object[NameObject("/Names")] = DictionaryObject(
            {NameObject("/JavaScript"): tree}
        )
    if attachment:
        writer.add_attachment("payload.exe", b"MZ not really")
    if open_action:
        writer.open_destination = writer.pages[0]
    if launch:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/Launch"),
                NameObject("/F"): TextStringObject("calc.exe"),
            }
        )
        writer.pages[0][NameObject("/AA")] = DictionaryObject({NameObject("/O"): action})
    if encrypted:
        writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def upload(content: bytes, name: str) -> SimpleUploadedFile:
    # A Content-Type that lies on purpose: the checks must never read it.
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def mrz_image(
    lines: list[str],
    *,
    font_size: int = 40,
    spacing: float = 1.6,
    page: tuple[int, int] = (1400, 900),
) -> bytes:
    """A synthetic identity page: a title, a photo box, and the MRZ lines at the bottom in a
    monospace font (DejaVu Sans Mono standing in for OCR-B)."""
    width, height = page
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if height > 800:
        draw.text(
            (60, 60), "PASSPORT  UTOPIA", font=ImageFont.truetype(SANS_FONT, 48), fill="black"
        )
    draw.rectangle(
        (60, 160 if height > 800 else 40, 360, 520 if height > 800 else 330),
        outline="black",
        width=4,
    )
    mono = ImageFont.truetype(MONO_FONT, font_size)
    step = int(font_size * spacing)
    y = height - 60 - len(lines) * step
    for line in lines:
        draw.text((60, y), line, font=mono, fill="black")
        y += step
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def mrz_card_image(lines: list[str]) -> bytes:
    """An ID card's back (TD1): card-shaped, the three lines close together."""
    return mrz_image(lines, font_size=40, spacing=1.2, page=(1100, 700))


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    client = factory.SubFactory(ClientFactory)
    kind = Document.Kind.PASSPORT
    side = Document.Side.FRONT
    file = factory.LazyFunction(lambda: ContentFile(png_bytes(), name="document.png"))
    original_sha256 = "0" * 64
    sanitised_sha256 = "0" * 64
    detected_type = Document.FileType.PNG
    content_type = "image/png"
    size = 100
    width = 60
    height = 40
