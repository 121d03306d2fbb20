"""Errors of the document features; each message is shown to the user as it is."""

from __future__ import annotations

from brokerage.exceptions import ApplicationError


class DocumentError(ApplicationError):
    """A document request was refused; nothing was stored."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs under, if any


class UploadRefused(DocumentError):
    """The file failed an upload check (type, size, pixels, content, virus scan)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="file")
