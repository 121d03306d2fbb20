"""Thin Celery tasks (queue default): ids in, a service call out."""

from __future__ import annotations

import logging

from celery import shared_task

from kyc.screening.exceptions import LoadRefused
from kyc.screening.models import ListVersion

log = logging.getLogger(__name__)


@shared_task(name="kyc.screening.tasks.download_lists", ignore_result=True)
def download_lists() -> list[int]:
    """Fetch every configured list; a refused file is logged and the old version stays."""
    from kyc.screening.download import list_urls, watchlist_download

    loaded = []
    for fmt in list_urls():
        try:
            version = watchlist_download(fmt=fmt)
        except LoadRefused as exc:
            log.error("screening: %s refused: %s", fmt, exc)
            continue
        if version is not None:
            loaded.append(version.pk)
    return loaded


@shared_task(name="kyc.screening.tasks.rescreen_version", ignore_result=True)
def rescreen_version(version_id: int) -> int:
    from kyc.screening.services import rescreen_version as service

    version = ListVersion.objects.filter(pk=version_id, is_active=True).first()
    if version is None:
        return 0  # superseded before we ran; the newer version's task covers it
    return service(version=version)


@shared_task(name="kyc.screening.tasks.rescreen_all", ignore_result=True)
def rescreen_all() -> int:
    from kyc.screening.services import rescreen_all as service

    return service()


@shared_task(name="kyc.screening.tasks.screen_client", ignore_result=True)
def screen_client(client_id: int, trigger: str) -> int | None:
    """Screen one client (at sign-up, after a profile change); the result goes to the case."""
    from clients.models import Client
    from kyc.screening.services import screen_client as service

    client = Client.objects.filter(pk=client_id).select_related("user").first()
    if client is None:
        return None
    return service(client=client, trigger=trigger).pk
