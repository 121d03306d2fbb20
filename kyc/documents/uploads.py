"""The upload checks (specs/kyc-aml.md section 4, OWASP's file upload cheat sheet).

`sanitise` takes the bytes a client sent and returns what may be stored, or refuses with a
message for the form field. It decides by the bytes alone: the file's type is sniffed from
its magic numbers (never its name or Content-Type; the name's extension must merely agree),
images are decoded and re-encoded (dropping EXIF, GPS and anything hidden after the image
data), PDFs are refused if they are encrypted or can run or carry anything.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

from kyc.documents.exceptions import UploadRefused

# sniffed MIME type -> our name, the extensions a file of it may carry, the largest size
_ALLOWED = {
    "image/jpeg": ("jpeg", {"jpg", "jpeg"}),
    "image/png": ("png", {"png"}),
    "image/heic": ("heic", {"heic", "heif"}),
    "application/pdf": ("pdf", {"pdf"}),
}
# PDF names that run something, open something or carry another file.
_PDF_FORBIDDEN = {"/JS", "/JavaScript", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/OpenAction"}

ALLOWED_TEXT = "a photo (JPEG, PNG or HEIC) or a PDF"


@dataclass(frozen=True)
class CleanFile:
    content: bytes
    extension: str  # of the stored file: jpg, png or pdf
    content_type: str
    detected_type: str  # what the client sent: jpeg, png, heic or pdf
    original_sha256: str
    sanitised_sha256: str
    width: int | None = None
    height: int | None = None
    page_count: int | None = None


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def _read(upload: UploadedFile) -> bytes:
    limit = max(settings.KYC_MAX_IMAGE_BYTES, settings.KYC_MAX_PDF_BYTES)
    if upload.size is not None and upload.size > limit:
        raise UploadRefused(f"The file is larger than {_mb(limit)}, the most we accept.")
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(f"The file is larger than {_mb(limit)}, the most we accept.")
    if not data:
        raise UploadRefused("The file is empty.")
    return data


def _sniff(data: bytes, name: str) -> str:
    kind = filetype.guess(data[:8192])
    allowed = _ALLOWED.get(kind.mime) if kind is not None else None
    if allowed is None:
        raise UploadRefused(f"This file is not {ALLOWED_TEXT}. Please send one of those.")
    detected, extensions = allowed
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in extensions:
        shown = f".{extension}" if extension else "no extension"
        raise UploadRefused(
            f"The file is a {detected.upper()} but its name ends in {shown}; "
            f"rename it to .{sorted(extensions)[0]} or send another file."
        )
    return detected


def _scan(data: bytes) -> None:
    """ClamAV through clamd, when KYC_CLAMD_SOCKET names one. Fails closed: an unreachable
    scanner refuses the upload rather than letting it through unscanned."""
    socket = settings.KYC_CLAMD_SOCKET
    if not socket:
        return
    import clamd

    scanner: Any
    if socket.startswith("tcp://"):
        host, _, port = socket.removeprefix("tcp://").rpartition(":")
        scanner = clamd.ClamdNetworkSocket(host=host, port=int(port), timeout=30)
    else:
        scanner = clamd.ClamdUnixSocket(path=socket, timeout=30)
    try:
        result = scanner.instream(io.BytesIO(data))
    except (clamd.ClamdError, OSError) as exc:
        raise UploadRefused(
            "We could not scan the file for viruses just now. Please try again in a few minutes."
        ) from exc
    status, signature = (result or {}).get("stream", (None, None))
    if status == "FOUND":
        raise UploadRefused(
            f"The file contains a virus or malware ({signature}) and was not accepted."
        )
    if status != "OK":
        raise UploadRefused(
            "We could not scan the file for viruses just now. Please try again in a few minutes."
        )


_heif_registered = False
_PILLOW_FORMAT = {"jpeg": "JPEG", "png": "PNG", "heic": "HEIF"}


def _open_image(data: bytes, detected: str) -> Image.Image:
    global _heif_registered
    if detected == "heic" and not _heif_registered:
        from pillow_heif import register_heif_opener

        register_heif_opener()
        _heif_registered = True
    limit = settings.KYC_MAX_IMAGE_PIXELS
    # Pillow warns past MAX_IMAGE_PIXELS and refuses past twice that; we refuse at both.
    Image.MAX_IMAGE_PIXELS = limit
    too_big = UploadRefused(
        f"The image is too large in pixels (more than {limit // 1_000_000} megapixels). "
        "Please send a smaller photo."
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Only the decoder of the sniffed type may read the bytes: no format guessing.
            image = Image.open(io.BytesIO(data), formats=[_PILLOW_FORMAT[detected]])
            if image.width * image.height > limit:
                raise too_big
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_big from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UploadRefused("The image could not be read; the file may be damaged.") from exc
    return image


def _clean_image(data: bytes, detected: str) -> tuple[bytes, str, str, int, int]:
    image = _open_image(data, detected)
    # Turn the pixels as the camera meant, then write a new file from the pixels alone:
    # nothing of the original's metadata (EXIF, GPS, XMP, comments, trailing data) survives.
    image = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    if detected == "png":
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, format="PNG", optimize=True)
        extension, content_type = "png", "image/png"
    else:
        if image.mode != "RGB":
            image = image.convert("RGB")
        image.save(out, format="JPEG", quality=90)
        extension, content_type = "jpg", "image/jpeg"
    return out.getvalue(), extension, content_type, image.width, image.height


def _pdf_forbidden_names(root: Any) -> set[str]:
    """Every dictionary key and name value reachable from the trailer that is on the list."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):  # streams are dictionaries too
            for name, value in item.items():
                if name in _PDF_FORBIDDEN:
                    found.add(str(name))
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
        elif isinstance(item, NameObject) and item in _PDF_FORBIDDEN:
            found.add(str(item))
    return found


def _check_pdf(data: bytes) -> int:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise UploadRefused(
                "The PDF is password-protected or encrypted. Please send it without a password."
            )
        forbidden = _pdf_forbidden_names(reader.trailer)
        pages = len(reader.pages)
    except UploadRefused:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, RecursionError, OSError) as exc:
        raise UploadRefused("The PDF could not be read; the file may be damaged.") from exc
    if forbidden:
        raise UploadRefused(
            "The PDF contains scripts, actions or attached files "
            f"({', '.join(sorted(forbidden))}), which we do not accept. "
            "Please send a plain scan or a photo."
        )
    if pages < 1:
        raise UploadRefused("The PDF has no pages.")
    return pages


def sanitise(*, upload: UploadedFile) -> CleanFile:
    """The checked, cleaned file to store, or UploadRefused with the reason."""
    data = _read(upload)
    detected = _sniff(data, upload.name or "")
    limit = settings.KYC_MAX_PDF_BYTES if detected == "pdf" else settings.KYC_MAX_IMAGE_BYTES
    if len(data) > limit:
        what = "A PDF" if detected == "pdf" else "A photo"
        raise UploadRefused(f"{what} may be at most {_mb(limit)}; this file is {_mb(len(data))}.")
    _scan(data)
    original_sha256 = hashlib.sha256(data).hexdigest()
    if detected == "pdf":
        pages = _check_pdf(data)
        # A PDF that passed the checks is kept as sent: rewriting it would not make a hidden
        # object safer than refusing it does, and the original hash stays verifiable.
        return CleanFile(
            content=data,
            extension="pdf",
            content_type="application/pdf",
            detected_type="pdf",
            original_sha256=original_sha256,
            sanitised_sha256=original_sha256,
            page_count=pages,
        )
    content, extension, content_type, width, height = _clean_image(data, detected)
    return CleanFile(
        content=content,
        extension=extension,
        content_type=content_type,
        detected_type=detected,
        original_sha256=original_sha256,
        sanitised_sha256=hashlib.sha256(content).hexdigest(),
        width=width,
        height=height,
    )
