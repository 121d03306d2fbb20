"""Candidate pre-selection (blocking) and scoring of list entities against one query.

Blocking: every listed name's ASCII tokens (2 letters or more), each token's phonetic key,
and every normalised identifier point at the entity; a query takes the union of its
tokens' postings, ranked by how rare the shared tokens are, capped at MAX_CANDIDATES.

Scoring, per candidate name: tokens are aligned order-free (best pairs first), each pair
scored 1.0 when equal, 0.9 for an initial, otherwise the better of a phonetic match
(0.92) and a length-normalised Levenshtein similarity. Unaligned query tokens cost more
than unaligned list tokens (a listed person's fourth name is often missing from a
passport; a query name the list lacks is evidence of another person). A weak alias scores
at most WEAK_ALIAS_FACTOR of a strong name. Date of birth and country can only lower the
score: a matching birth date never raises it.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from django.conf import settings
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Levenshtein

from kyc.screening.models import Decision, WatchlistEntity
from kyc.screening.names import (
    block_keys,
    folded,
    name_tokens,
    normalise_identifier,
    phonetic,
    tokens,
)

ALGORITHM = "align-rapidfuzz"
ALGORITHM_VERSION = "1.0"
MAX_CANDIDATES = 200
# Of the blocked candidates, only the best PREFILTER_KEEP by rapidfuzz's token-set ratio
# (C speed) go through the full alignment (Python speed).
PREFILTER_KEEP = 30
PREFILTER_CUTOFF = 40
PREFILTER_NAME_MARGIN = 30  # of 150: an entity's names this far below its best aren't aligned
LOG_CUTOFF = 0.50
WEAK_ALIAS_FACTOR = 0.85
UNMATCHED_QUERY_WEIGHT = 1.0
UNMATCHED_LIST_WEIGHT = 0.3
# A query part with no counterpart while the listed name also has one left over (Diego vs
# Gilberto TORPEZ GARTORNANDEZ) is a different given name: another person, often a sibling.
CONFLICT_QUERY_WEIGHT = 1.6
INITIAL_SCORE = 0.9
INITIALS_CAP = 0.88  # a name matched through an initial is an alert at most, never strong
PHONETIC_SCORE = 0.92
MIN_PAIR_SCORE = 0.6
DOB_YEAR_DISJOINT = -0.35
DOB_DAY_DISJOINT = -0.20
COUNTRY_MISMATCH = -0.10


def alert_threshold() -> float:
    return float(getattr(settings, "SCREENING_ALERT_THRESHOLD", 0.70))


def strong_threshold() -> float:
    return float(getattr(settings, "SCREENING_STRONG_THRESHOLD", 0.90))


# --- the index -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexedEntity:
    pk: int
    source: str
    source_id: str
    schema: str
    caption: str
    names: tuple[tuple[str, tuple[str, ...], bool], ...]  # (name, tokens, weak)
    joined: tuple[str, ...]  # each name's tokens joined by a space, for the prefilter
    birth_dates: tuple[str, ...]
    countries: tuple[str, ...]
    identifiers: frozenset[str]
    topics: tuple[str, ...]


@dataclass
class WatchlistIndex:
    entities: list[IndexedEntity] = field(default_factory=list)
    by_token: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_phonetic: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_identifier: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    key: tuple = ()

    def add(self, entity: IndexedEntity) -> None:
        position = len(self.entities)
        self.entities.append(entity)
        seen_tokens: set[str] = set()
        seen_keys: set[str] = set()
        for _name, name_toks, _weak in entity.names:
            for token in name_toks:
                if len(token) < 2:
                    continue
                if token not in seen_tokens:
                    seen_tokens.add(token)
                    self.by_token[token].append(position)
                for key in block_keys(token):
                    if key and key not in seen_keys:
                        seen_keys.add(key)
                        self.by_phonetic[key].append(position)
        for number in entity.identifiers:
            self.by_identifier[number].append(position)

    def idf(self, postings: list[int]) -> float:
        return math.log(1 + len(self.entities) / (1 + len(postings)))

    def candidates(
        self,
        query_tokens: Iterable[str],
        identifiers: Iterable[str] = (),
        limit: int = MAX_CANDIDATES,
    ) -> list[int]:
        weights: dict[int, float] = defaultdict(float)
        for number in identifiers:
            for position in self.by_identifier.get(number, ()):
                weights[position] += 100.0
        for token in set(query_tokens):
            if len(token) < 2:
                continue
            exact = self.by_token.get(token, ())
            if exact:
                weight = self.idf(exact)  # type: ignore[arg-type]
                for position in exact:
                    weights[position] += weight
            for key in block_keys(token):
                similar = self.by_phonetic.get(key, ())
                if similar:
                    weight = 0.3 * self.idf(similar)  # type: ignore[arg-type]
                    for position in similar:
                        weights[position] += weight
        if len(weights) <= limit:
            return list(weights)
        return sorted(weights, key=weights.__getitem__, reverse=True)[:limit]

    def exact_token_candidates(self, query_tokens: Iterable[str]) -> set[int]:
        """The benchmark's baseline: a plain lookup of the exact tokens, nothing scored."""
        found: set[int] = set()
        for token in query_tokens:
            found.update(self.by_token.get(token, ()))
        return found


def indexed(row: dict[str, Any]) -> IndexedEntity:
    """An entity for the index, from a row of WatchlistEntity.values(*FIELDS)."""
    names = tuple(
        (item["name"], name_tokens(item["name"]), bool(item.get("weak"))) for item in row["names"]
    )
    return IndexedEntity(
        pk=row["id"],
        source=row["source"],
        source_id=row["source_id"],
        schema=row["schema"],
        caption=row["caption"],
        names=names,
        joined=tuple(" ".join(toks) for _n, toks, _w in names),
        birth_dates=tuple(row.get("birth_dates") or ()),
        countries=tuple(row.get("countries") or ()),
        identifiers=frozenset(
            normalise_identifier(i["number"])
            for i in row.get("identifiers") or ()
            if i.get("number")
        ),
        topics=tuple(row.get("topics") or ()),
    )


FIELDS = ("id", "source", "source_id", "schema", "caption", "names", "birth_dates", "countries", "identifiers", "topics")  # fmt: skip


def build_index(entity_ids: Iterable[int] | None = None) -> WatchlistIndex:
    index = WatchlistIndex()
    rows = WatchlistEntity.objects.filter(listed=True)
    if entity_ids is not None:
        rows = rows.filter(pk__in=list(entity_ids))
    for row in rows.order_by("pk").values(*FIELDS).iterator(chunk_size=5000):
        index.add(indexed(row))
    return index


_cache_lock = threading.Lock()
_cached: WatchlistIndex | None = None


def active_index(key: tuple) -> WatchlistIndex:
    """The index of every listed entity, rebuilt when the active versions change (key)."""
    global _cached
    with _cache_lock:
        if _cached is None or _cached.key != key:
            index = build_index()
            index.key = key
            _cached = index
        return _cached


# --- scoring -------------------------------------------------------------------------------


def edit_budget(length: int) -> int:
    """Edits a token of this length may take and still count as the same name part."""
    if length <= 3:
        return 0
    if length <= 7:
        return 1
    if length <= 12:
        return 2
    return 3


@lru_cache(maxsize=500_000)
def token_score(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return INITIAL_SCORE if a[0] == b[0] else 0.0
    shorter = min(len(a), len(b))
    budget = edit_budget(shorter)
    # OSA: a swap of two neighbouring letters is one slip, not two.
    if folded(a) == folded(b):
        return PHONETIC_SCORE  # the same name romanised another way
    edits = OSA.distance(a, b, score_cutoff=budget + 1)
    if edits > budget:
        return 0.0
    score = 1.0 - edits / max(len(a), len(b))
    # Mohammed / Muhammad: a spelling of the same name, not a typo of another one.
    if (
        shorter >= 6
        and (a[0] == b[0] or (a[0] in "aeiou" and b[0] in "aeiou"))
        and phonetic(a) == phonetic(b)
    ):
        score = max(score, PHONETIC_SCORE)
    return score if score >= MIN_PAIR_SCORE else 0.0


@dataclass
class NameMatch:
    score: float
    pairs: list[tuple[str, str, float]]
    unmatched_query: list[str]
    unmatched_list: list[str]


def compare_names(query: tuple[str, ...], listed: tuple[str, ...]) -> NameMatch:
    scored = sorted(
        ((token_score(q, c), i, j) for i, q in enumerate(query) for j, c in enumerate(listed)),
        reverse=True,
    )
    used_q: set[int] = set()
    used_c: set[int] = set()
    pairs: list[tuple[str, str, float]] = []
    matched = weight = 0.0
    initials = False
    for score, i, j in scored:
        if score <= 0.0:
            break
        if i in used_q or j in used_c:
            continue
        used_q.add(i)
        used_c.add(j)
        q, c = query[i], listed[j]
        if len(q) == 1 or len(c) == 1:
            initials = True
            pair_weight = 2.0  # an initial is little evidence
        else:
            pair_weight = float(max(len(q), len(c)))
        matched += score * pair_weight
        weight += pair_weight
        pairs.append((q, c, score))
    unmatched_q = [q for i, q in enumerate(query) if i not in used_q]
    unmatched_c = [c for j, c in enumerate(listed) if j not in used_c]
    query_weight = CONFLICT_QUERY_WEIGHT if unmatched_c else UNMATCHED_QUERY_WEIGHT
    weight += query_weight * sum(min(len(t), 8) for t in unmatched_q)
    weight += UNMATCHED_LIST_WEIGHT * sum(min(len(t), 8) for t in unmatched_c)
    score = matched / weight if weight else 0.0
    # Written together or apart ("Abdulrahman" / "Abdul Rahman"): compare the joined forms.
    if len(query) != len(listed) and query and listed:
        joined = Levenshtein.normalized_similarity("".join(query), "".join(listed))
        if joined >= 0.9 and joined * 0.95 > score:
            score = joined * 0.95
            pairs = [(" ".join(query), " ".join(listed), joined)]
            unmatched_q, unmatched_c = [], []
    if initials:
        score = min(score, INITIALS_CAP)
    return NameMatch(score, pairs, unmatched_q, unmatched_c)


def dob_penalty(query_dob: str | None, birth_dates: tuple[str, ...]) -> tuple[float, str]:
    if not query_dob or not birth_dates:
        return 0.0, ""
    for listed in birth_dates:
        length = min(len(query_dob), len(listed))
        if query_dob[:length] == listed[:length]:
            return 0.0, f"DOB {query_dob} agrees with {listed} (no bonus)"
    if any(query_dob[:4] == listed[:4] for listed in birth_dates):
        return (
            DOB_DAY_DISJOINT,
            f"DOB {query_dob} differs from {', '.join(birth_dates)} {DOB_DAY_DISJOINT:+.2f}",
        )
    return (
        DOB_YEAR_DISJOINT,
        f"DOB year {query_dob[:4]} not in {', '.join(birth_dates)} {DOB_YEAR_DISJOINT:+.2f}",
    )


def country_penalty(country: str | None, countries: tuple[str, ...]) -> tuple[float, str]:
    if not country or not countries or country.upper() in countries:
        return 0.0, ""
    return (
        COUNTRY_MISMATCH,
        f"country {country.upper()} not in {', '.join(countries)} {COUNTRY_MISMATCH:+.2f}",
    )


@dataclass
class Candidate:
    entity: IndexedEntity
    score: float
    decision: str
    matched_name: str
    explanation: str


def score_entity(
    entity: IndexedEntity,
    query: tuple[str, ...],
    *,
    dob: str | None,
    country: str | None,
    identifiers: frozenset[str] = frozenset(),
    only: Collection[int] | None = None,
    thresholds: tuple[float, float] | None = None,
) -> Candidate:
    """Score one entity; `only` limits the names compared to those the prefilter kept."""
    alert_at, strong_at = thresholds or (alert_threshold(), strong_threshold())
    best: tuple[float, str, NameMatch, bool] | None = None
    for number, (name, listed, weak) in enumerate(entity.names):
        if only is not None and number not in only:
            continue
        match = compare_names(query, listed)
        score = match.score * (WEAK_ALIAS_FACTOR if weak else 1.0)
        if best is None or score > best[0]:
            best = (score, name, match, weak)
    assert best is not None  # noqa: S101 - every listed entity has a name
    score, name, match, weak = best
    parts = [
        f"name '{name}'{' (weak alias, x' + str(WEAK_ALIAS_FACTOR) + ')' if weak else ''}: "
        + ", ".join(f"{q}~{c} {s:.2f}" for q, c, s in match.pairs)
    ]
    if match.unmatched_query:
        parts.append(f"query tokens not in the name: {' '.join(match.unmatched_query)}")
    id_match = bool(identifiers & entity.identifiers)
    if id_match:
        parts.append("identifier matches exactly")
    for penalty, text in (
        dob_penalty(dob, entity.birth_dates),
        country_penalty(country, entity.countries),
    ):
        if text:
            parts.append(text)
        score += penalty
    score = max(0.0, min(1.0, score))
    full_dob_equal = bool(dob and len(dob) == 10 and dob in entity.birth_dates)
    if id_match or score >= strong_at or (score >= 0.85 and full_dob_equal):
        decision = Decision.STRONG
    elif score >= alert_at:
        decision = Decision.ALERT
    else:
        decision = Decision.CLEAR
    return Candidate(entity, round(score, 4), decision, name, "; ".join(parts))


def screen(
    index: WatchlistIndex,
    *,
    name: str,
    dob: str | None = None,
    country: str | None = None,
    identifiers: Iterable[str] = (),
) -> list[Candidate]:
    """Candidates scoring at least LOG_CUTOFF, best first."""
    query = name_tokens(name)
    ids = frozenset(normalise_identifier(i) for i in identifiers if i)
    if not query and not ids:
        return []
    positions = index.candidates(tokens(name), ids)
    kept: dict[int, set[int] | None] = dict.fromkeys(positions)
    if len(positions) > PREFILTER_KEEP:
        kept = prefilter(index, positions, " ".join(query), ids)
    thresholds = (alert_threshold(), strong_threshold())
    found: list[Candidate] = []
    for position, only in kept.items():
        candidate = score_entity(
            index.entities[position],
            query,
            dob=dob,
            country=country,
            identifiers=ids,
            only=only,
            thresholds=thresholds,
        )
        if candidate.score >= LOG_CUTOFF or candidate.decision != Decision.CLEAR:
            found.append(candidate)
    found.sort(key=lambda c: c.score, reverse=True)
    return found


def prefilter(
    index: WatchlistIndex, positions: list[int], query: str, ids: frozenset[str]
) -> dict[int, set[int] | None]:
    """The PREFILTER_KEEP most similar candidates, each with the names worth aligning (None:
    all of them, for an identifier match). One vectorised pass: every name of every
    candidate is scored in C, and the names of one entity sit side by side in `choices`."""
    choices: list[str] = []
    starts: list[int] = []
    kept: dict[int, set[int] | None] = {}
    for position in positions:
        entity = index.entities[position]
        if ids and ids & entity.identifiers:
            kept[position] = None
        starts.append(len(choices))
        choices.extend(entity.joined)
    # token_set_ratio forgives missing middle names; token_sort_ratio breaks its many ties.
    scores = process.cdist([query], choices, scorer=fuzz.token_set_ratio, dtype=np.float32)[0]
    scores += (
        0.5 * process.cdist([query], choices, scorer=fuzz.token_sort_ratio, dtype=np.float32)[0]
    )
    best = np.maximum.reduceat(scores, np.asarray(starts))
    order = np.argsort(-best, kind="stable")[:PREFILTER_KEEP]
    for at in order:
        if best[at] < PREFILTER_CUTOFF:
            break
        position = positions[at]
        if position in kept:
            continue
        first = starts[at]
        last = starts[at + 1] if at + 1 < len(starts) else len(choices)
        floor = best[at] - PREFILTER_NAME_MARGIN
        kept[position] = {n for n in range(last - first) if scores[first + n] >= floor}
    return kept


def decide(candidates: list[Candidate]) -> str:
    decisions = {c.decision for c in candidates}
    if Decision.STRONG in decisions:
        return Decision.STRONG
    if Decision.ALERT in decisions:
        return Decision.ALERT
    return Decision.CLEAR
