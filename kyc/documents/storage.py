"""The private storage of KYC documents: outside MEDIA_ROOT and STATIC_ROOT, with no URL.

A callable (not an instance) on the FileField, so the directory is read from settings when
a file is saved: tests point KYC_STORAGE_DIR at a temporary directory, and the migration
does not record a machine's path.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    def url(self, name: str | None) -> str:
        # Nothing under this storage has a public address; files go out through the
        # permission-checked views only.
        raise ValueError("KYC documents have no URL; use the document views.")


def private_storage() -> PrivateStorage:
    return PrivateStorage(location=settings.KYC_STORAGE_DIR, base_url=None)


def random_name(instance: object, filename: str) -> str:
    """A random UUID name; nothing of what the client called the file is kept on disk.
    `filename` is our own sanitised name carrying only the extension of the sniffed type."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    key = uuid.uuid4().hex
    return f"{key[:2]}/{key}.{extension}"
