"""Writes: loading a list version, and storing client screenings."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from clients.models import Client
from kyc import hooks
from kyc.screening import matching
from kyc.screening.exceptions import LoadRefused
from kyc.screening.loaders import parser_for
from kyc.screening.models import ListVersion, Screening, ScreeningHit, WatchlistEntity
from kyc.screening.selectors import client_screening_query, screen_name

log = logging.getLogger(__name__)

MAX_DROP = 0.05  # refuse a version with more than 5% fewer entities than the active one


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@transaction.atomic
def watchlist_load(
    *,
    fmt: str,
    paths: Sequence[Path],
    etag: str = "",
    last_modified: str = "",
    max_drop: float = MAX_DROP,
) -> ListVersion:
    """Parse the files, upsert the entities and make the new version the active one.

    Everything happens in one transaction: a malformed file, a >max_drop shrink or any
    error leaves the previous version active and the entities untouched.
    """
    source, parse = parser_for(fmt)
    paths = [Path(p) for p in paths]
    records = {}
    for record in parse(paths):
        if record.source_id in records:
            raise LoadRefused(f"{fmt}: entity {record.source_id} appears twice")
        records[record.source_id] = record
    if not records:
        raise LoadRefused(f"{fmt}: the file holds no entities")
    # Serialises loads of one source; the row is the active version (if any).
    active = ListVersion.objects.select_for_update().filter(source=source, is_active=True).first()
    if active is not None and len(records) < active.entity_count * (1 - max_drop):
        raise LoadRefused(
            f"{fmt}: {len(records)} entities against {active.entity_count} in the active "
            f"version, a drop of more than {max_drop:.0%}; the active version stays"
        )
    version = ListVersion.objects.create(
        source=source,
        format=fmt,
        raw_hashes={p.name: file_sha256(p) for p in paths},
        entity_count=len(records),
        etag=etag,
        last_modified=last_modified,
    )
    existing = {
        row["source_id"]: row
        for row in WatchlistEntity.objects.filter(source=source).values(
            "pk", "source_id", "content_hash", "listed"
        )
    }
    new: list[WatchlistEntity] = []
    changed: list[WatchlistEntity] = []
    unchanged: list[int] = []
    for source_id, record in records.items():
        content_hash = record.content_hash()
        fields = {
            "schema": record.schema,
            "caption": record.caption[:512],
            "names": record.names,
            "birth_dates": record.birth_dates,
            "countries": record.countries,
            "identifiers": record.identifiers,
            "topics": record.topics,
            "programs": record.programs,
            "content_hash": content_hash,
        }
        row = existing.get(source_id)
        if row is None:
            new.append(
                WatchlistEntity(
                    source=source,
                    source_id=source_id,
                    first_version=version,
                    changed_in=version,
                    last_seen_version=version,
                    **fields,
                )
            )
        elif row["content_hash"] != content_hash or not row["listed"]:
            changed.append(
                WatchlistEntity(
                    pk=row["pk"],
                    changed_in=version,
                    last_seen_version=version,
                    listed=True,
                    delisted_at=None,
                    **fields,
                )
            )
        else:
            unchanged.append(row["pk"])
    WatchlistEntity.objects.bulk_create(new, batch_size=2000)
    WatchlistEntity.objects.bulk_update(
        changed,
        [
            "schema", "caption", "names", "birth_dates", "countries", "identifiers", "topics",
            "programs", "content_hash", "changed_in", "last_seen_version", "listed", "delisted_at",
        ],
        batch_size=2000,
    )  # fmt: skip
    for start in range(0, len(unchanged), 10_000):
        WatchlistEntity.objects.filter(pk__in=unchanged[start : start + 10_000]).update(
            last_seen_version=version
        )
    # Delisted: no longer matched, but kept, so the hits that point at them keep their history.
    delisted = (
        WatchlistEntity.objects.filter(source=source, listed=True)
        .exclude(source_id__in=list(records))
        .update(listed=False, delisted_at=timezone.now())
    )
    version.added_count = len(new)
    version.changed_count = len(changed)
    version.delisted_count = delisted
    # Deactivate before activating: the partial unique index allows one active per source.
    ListVersion.objects.filter(source=source, is_active=True).update(is_active=False)
    version.is_active = True
    version.save(update_fields=["added_count", "changed_count", "delisted_count", "is_active"])
    log.info(
        "screening: %s version %s active: %d entities, %d new, %d changed, %d delisted",
        source, version.pk, len(records), len(new), len(changed), delisted,
    )  # fmt: skip
    if new or changed:
        from kyc.screening.tasks import rescreen_version

        transaction.on_commit(lambda: rescreen_version.delay(version.pk))
    return version


@transaction.atomic
def screen_client(
    *,
    client: Client,
    trigger: str,
    index: matching.WatchlistIndex | None = None,
    scope: str = "full",
) -> Screening:
    """Screen the client, store the result with every logged candidate, tell the KYC case."""
    name, dob, country = client_screening_query(client=client)
    result = screen_name(name=name, dob=dob, country=country, index=index)
    screening = Screening.objects.create(
        client=client,
        trigger=trigger,
        query_name=name[:512],
        query_dob=dob or "",
        query_country=country or "",
        decision=result.decision,
        top_score=result.candidates[0].score if result.candidates else 0.0,
        is_pep=result.is_pep,
        algorithm=result.algorithm,
        algorithm_version=result.algorithm_version,
        scope=scope,
    )
    screening.list_versions.set(result.list_version_ids)
    ScreeningHit.objects.bulk_create(
        ScreeningHit(
            screening=screening,
            entity_id=c.entity.pk,
            score=c.score,
            decision=c.decision,
            matched_name=c.matched_name[:512],
            entity_caption=c.entity.caption[:512],
            explanation=c.explanation,
        )
        for c in result.candidates
    )
    hooks.screening_completed(screening=screening)
    return screening


def _clients() -> Iterable[Client]:
    return Client.objects.select_related("user").exclude(status=Client.Status.CLOSED).order_by("pk")


def rescreen_version(*, version: ListVersion) -> int:
    """Screen every client against only the entities this version added or changed.

    A clear result against a handful of entities says nothing new, so only alerts and
    strong hits are stored (scope "delta"). Returns the number stored.
    """
    entity_ids = list(
        WatchlistEntity.objects.filter(changed_in=version, listed=True).values_list("pk", flat=True)
    )
    if not entity_ids:
        return 0
    index = matching.build_index(entity_ids)
    stored = 0
    for client in _clients():
        name, dob, country = client_screening_query(client=client)
        if not name:
            continue
        result = screen_name(name=name, dob=dob, country=country, index=index)
        if result.decision != "clear":
            screen_client(
                client=client, trigger=Screening.Trigger.LIST_UPDATE, index=index, scope="delta"
            )
            stored += 1
    return stored


def rescreen_all(*, trigger: str = Screening.Trigger.NIGHTLY) -> int:
    """Full re-screen of every open client against every listed entity."""
    count = 0
    for client in _clients():
        screen_client(client=client, trigger=trigger)
        count += 1
    return count
