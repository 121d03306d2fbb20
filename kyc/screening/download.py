"""Fetch a list conditionally (ETag / If-Modified-Since) and load it with the same parsers."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import httpx
from django.conf import settings

from kyc.screening.exceptions import LoadRefused
from kyc.screening.models import ListVersion

log = logging.getLogger(__name__)

DEFAULT_URLS: dict[str, list[str]] = {
    "ofac-csv": [
        "https://www.treasury.gov/ofac/downloads/sdn.csv",
        "https://www.treasury.gov/ofac/downloads/alt.csv",
        "https://www.treasury.gov/ofac/downloads/add.csv",
    ],
    "un-xml": ["https://scsanctions.un.org/resources/xml/en/consolidated.xml"],
    "eu-xml": [
        "https://webgate.ec.europa.eu/fsd/fsf/public/files/xmlFullSanctionsList_1_1/content?token=dG9rZW4tMjAxNw"
    ],
}
FILE_NAMES = {"ofac-csv": ["sdn.csv", "alt.csv", "add.csv"], "ofac-xml": ["sdn.xml"]}
SOURCES = {"ofac-csv": "ofac", "ofac-xml": "ofac", "un-xml": "un", "eu-xml": "eu"}


def list_urls() -> dict[str, list[str]]:
    return getattr(settings, "SCREENING_LIST_URLS", DEFAULT_URLS)


def http_client() -> httpx.Client:
    return httpx.Client(timeout=120, follow_redirects=True)


def _fetch(client: httpx.Client, url: str, target: Path, headers: dict[str, str]) -> httpx.Response:
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 304:
            return response
        response.raise_for_status()
        received = 0
        with target.open("wb") as handle:
            for chunk in response.iter_bytes():
                handle.write(chunk)
                received += len(chunk)
        expected = response.headers.get("Content-Length")
        # Only when the body isn't compressed does Content-Length count the bytes we got.
        if expected and not response.headers.get("Content-Encoding") and int(expected) != received:
            raise LoadRefused(f"{url}: truncated download, {received} of {expected} bytes")
        if received == 0:
            raise LoadRefused(f"{url}: empty download")
        return response


def watchlist_download(*, fmt: str, client: httpx.Client | None = None) -> ListVersion | None:
    """Download and load one list; None when the server says nothing changed (304)."""
    from kyc.screening.services import watchlist_load

    urls = list_urls()[fmt]
    active = ListVersion.objects.filter(source=SOURCES[fmt], is_active=True, format=fmt).first()
    headers: dict[str, str] = {}
    if active is not None:
        if active.etag:
            headers["If-None-Match"] = active.etag
        if active.last_modified:
            headers["If-Modified-Since"] = active.last_modified
    names = FILE_NAMES.get(fmt) or [f"{fmt}.xml"]
    own_client = client is None
    client = client or http_client()
    try:
        with tempfile.TemporaryDirectory(prefix="watchlist-") as workdir:
            paths = []
            etag = last_modified = ""
            for position, (url, name) in enumerate(zip(urls, names, strict=True)):
                target = Path(workdir) / name
                # The first file decides: the OFAC triple is published together.
                response = _fetch(client, url, target, headers if position == 0 else {})
                if response.status_code == 304:
                    log.info("screening: %s not modified", fmt)
                    return None
                if position == 0:
                    etag = response.headers.get("ETag", "")
                    last_modified = response.headers.get("Last-Modified", "")
                paths.append(target)
            return watchlist_load(fmt=fmt, paths=paths, etag=etag, last_modified=last_modified)
    finally:
        if own_client:
            client.close()
