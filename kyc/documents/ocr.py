"""Finding the machine-readable zone in a photo: passporteye locates it and runs tesseract;
kyc.documents.mrz parses and validates the lines it read.

Slow (a second or more per image), so it runs in a Celery task, not in the upload request.
"""

from __future__ import annotations

import io
import logging
import warnings

from kyc.documents import mrz

log = logging.getLogger(__name__)


class OcrUnavailable(RuntimeError):
    """tesseract (or passporteye's image stack) failed; the zone could not be looked for."""


def read_zone(image_bytes: bytes) -> list[str] | None:
    """The MRZ lines found in an image (JPEG or PNG bytes), cleaned of the usual OCR
    confusions (0/O, 1/I by position); None when the image has no readable zone."""
    from passporteye import read_mrz
    from passporteye.mrz.text import MRZOCRCleaner

    try:
        with warnings.catch_warnings():
            # passporteye uses scikit-image calls deprecated in 0.25; not ours to fix.
            warnings.simplefilter("ignore", FutureWarning)
            found = read_mrz(io.BytesIO(image_bytes))
    except Exception as exc:  # pytesseract raises its own types; a missing binary among them
        raise OcrUnavailable(f"MRZ reading failed: {exc}") from exc
    if found is None:
        return None
    raw = found.aux.get("raw_text", "")
    lines = MRZOCRCleaner.apply(raw) if raw else []
    return lines or None


def read_document(image_bytes: bytes) -> mrz.MrzReading | None:
    lines = read_zone(image_bytes)
    if not lines:
        return None
    try:
        return mrz.parse(lines)
    except mrz.MrzError:
        log.info("MRZ-like text that is no known format: %r", lines)
        return None
