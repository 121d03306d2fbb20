"""Reads: screening a name against the active lists, and a client's screenings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from clients.models import Client
from kyc.screening import matching
from kyc.screening.models import Decision, ListVersion, Screening


@dataclass
class NameScreen:
    name: str
    dob: str | None
    country: str | None
    decision: str
    candidates: list[matching.Candidate]
    list_version_ids: list[int]
    algorithm: str = matching.ALGORITHM
    algorithm_version: str = matching.ALGORITHM_VERSION

    @property
    def is_pep(self) -> bool:
        return any(
            "role.pep" in c.entity.topics for c in self.candidates if c.decision != Decision.CLEAR
        )

    def as_dict(self) -> dict:
        return {
            "query": {"name": self.name, "dob": self.dob, "country": self.country},
            "decision": self.decision,
            "is_pep": self.is_pep,
            "algorithm": f"{self.algorithm} {self.algorithm_version}",
            "list_versions": self.list_version_ids,
            "candidates": [
                {
                    "entity": f"{c.entity.source}:{c.entity.source_id}",
                    "caption": c.entity.caption,
                    "schema": c.entity.schema,
                    "score": c.score,
                    "decision": c.decision,
                    "matched_name": c.matched_name,
                    "explanation": c.explanation,
                }
                for c in self.candidates
            ],
        }


def active_version_ids() -> list[int]:
    return list(
        ListVersion.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True)
    )


def screen_name(
    *,
    name: str,
    dob: str | None = None,
    country: str | None = None,
    identifiers: Iterable[str] = (),
    index: matching.WatchlistIndex | None = None,
) -> NameScreen:
    """Screen one name against the active list versions (or the given index); writes nothing.

    dob is a partial ISO date: "1970", "1970-05" or "1970-05-12"; country is ISO-2.
    """
    versions = active_version_ids()
    if index is None:
        index = matching.active_index(tuple(versions))
    country = country.upper() if country else None
    candidates = matching.screen(
        index, name=name, dob=dob or None, country=country, identifiers=identifiers
    )
    return NameScreen(
        name=name,
        dob=dob or None,
        country=country,
        decision=matching.decide(candidates),
        candidates=candidates,
        list_version_ids=versions,
    )


def client_screening_query(*, client: Client) -> tuple[str, str | None, str | None]:
    """(name, dob, country) as screened: the user's names, the client's country, and a date
    of birth if the client model has one (it doesn't yet; KYC profile data will add it)."""
    user = client.user
    name = " ".join(part for part in (user.first_name, user.last_name) if part).strip()
    birth = getattr(client, "date_of_birth", None)
    dob = birth.isoformat() if isinstance(birth, dt.date) else None
    return name, dob, (client.country or None)


def latest_screening(*, client: Client) -> Screening | None:
    return (
        Screening.objects.filter(client=client)
        .prefetch_related("hits__entity", "list_versions")
        .order_by("-created_at", "-pk")
        .first()
    )


def active_versions() -> list[ListVersion]:
    return list(ListVersion.objects.filter(is_active=True).order_by("source"))


def recent_screenings(*, decisions: tuple[str, ...], limit: int = 50) -> list[Screening]:
    return list(
        Screening.objects.filter(decision__in=decisions)
        .select_related("client")
        .order_by("-created_at", "-pk")[:limit]
    )
