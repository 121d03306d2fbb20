"""The private storage of KYC documents: outside MEDIA_ROOT and STATIC_ROOT, with no URL.

The directory is read from settings at each use (not once at import), so tests can point
KYC_STORAGE_DIR at a temporary directory; the FileField names a callable, so the migration
does not record a machine's path.
"""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    @property  # type: ignore[override]
    def base_location(self) -> str:
        return str(settings.KYC_STORAGE_DIR)

    @property  # type: ignore[override]
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        # Nothing under this storage has a public address; files go out through the
        # permission-checked views only.
        raise ValueError("KYC documents have no URL; use the document views.")


def private_storage() -> PrivateStorage:
    return PrivateStorage()


def random_name(instance: object, filename: str) -> str:
    """A random UUID name; nothing of what the client called the file is kept on disk.
    `filename` is our own sanitised name carrying only the extension of the sniffed type."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    key = uuid.uuid4().hex
    return f"{key[:2]}/{key}.{extension}"
