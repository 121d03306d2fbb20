"""The risk score as a pure function: inputs in, score, band and reasons out. No database, so
the same inputs always give the same result (the assessment stores both)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

PEP_VALUES = ("none", "domestic", "foreign")
SCREENING_VALUES = ("clear", "alert", "strong", "unknown")
CHANNEL_VALUES = ("online", "face_to_face")

CATEGORY_WORDS = {
    "prohibited": "FATF call for action",
    "fatf_grey": "FATF grey list",
    "eu_high_risk": "EU high-risk third country",
}


@dataclass(frozen=True)
class Factor:
    code: str
    points: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "points": self.points, "reason": self.reason}


@dataclass(frozen=True)
class RiskScore:
    score: int
    band: str
    prohibited: bool
    freeze: bool
    factors: tuple[Factor, ...] = field(default_factory=tuple)


def band_for(score: int, *, bands: Mapping[str, int]) -> str:
    if score >= bands["high"]:
        return "high"
    if score >= bands["medium"]:
        return "medium"
    return "low"


def _country_factor(
    code: str,
    label: str,
    countries: Iterable[str],
    table: Mapping[str, Mapping[str, int]],
) -> tuple[Factor | None, bool]:
    """The worst listed country among `countries`: its highest category counts once."""
    worst: tuple[int, str, str] | None = None
    prohibited = False
    for country in sorted({c.upper() for c in countries if c}):
        categories = table.get(country, {})
        if not categories:
            continue
        prohibited = prohibited or "prohibited" in categories
        category, points = max(categories.items(), key=lambda item: (item[1], item[0]))
        if worst is None or points > worst[0]:
            lists = ", ".join(CATEGORY_WORDS.get(c, c) for c in sorted(categories))
            worst = (points, country, lists)
    if worst is None:
        return None, False
    points, country, lists = worst
    reason = f"{label} {country} is listed: {lists}"
    if prohibited:
        reason += " (prohibited: do not onboard)"
    return Factor(code, points, reason), prohibited


def score_risk(
    *,
    residence: str,
    ip_countries: Iterable[str] = (),
    pep: str = "none",
    screening: str = "unknown",
    channel: str = "online",
    adverse_media: bool = False,
    open_alerts: int = 0,
    country_table: Mapping[str, Mapping[str, int]],
    weights: Mapping[str, int],
    bands: Mapping[str, int],
) -> RiskScore:
    """`country_table` maps ISO-2 -> {category: points} for one country-risk version."""
    if pep not in PEP_VALUES:
        raise ValueError(f"pep must be one of {', '.join(PEP_VALUES)}, not {pep!r}.")
    if screening not in SCREENING_VALUES:
        raise ValueError(
            f"screening must be one of {', '.join(SCREENING_VALUES)}, not {screening!r}."
        )
    if channel not in CHANNEL_VALUES:
        raise ValueError(f"channel must be one of {', '.join(CHANNEL_VALUES)}, not {channel!r}.")

    factors: list[Factor] = []
    residence_factor, prohibited = _country_factor(
        "country_residence", "Country of residence", [residence], country_table
    )
    if residence_factor:
        factors.append(residence_factor)
    ip_factor, ip_prohibited = _country_factor(
        "country_ip", "Recent login from", ip_countries, country_table
    )
    if ip_factor:
        factors.append(ip_factor)
    prohibited = prohibited or ip_prohibited

    if pep == "foreign":
        factors.append(
            Factor(
                "pep",
                weights["pep_foreign"],
                "Foreign politically exposed person (or close associate): "
                "enhanced due diligence and senior sign-off",
            )
        )
    elif pep == "domestic":
        factors.append(
            Factor("pep", weights["pep_domestic"], "Domestic politically exposed person")
        )

    freeze = screening == "strong"
    if freeze:
        factors.append(
            Factor(
                "sanctions",
                0,
                "Strong sanctions screening hit: freeze the account and report; the MLRO decides",
            )
        )
    elif screening == "alert":
        factors.append(
            Factor(
                "screening_alert",
                weights["screening_alert"],
                "Unresolved sanctions/PEP screening alert",
            )
        )
    elif screening == "unknown":
        factors.append(
            Factor(
                "screening_unknown",
                weights["screening_unknown"],
                "Sanctions screening has not run for this client",
            )
        )

    if adverse_media:
        factors.append(Factor("adverse_media", weights["adverse_media"], "Adverse media found"))
    if channel == "online":
        factors.append(
            Factor(
                "non_face_to_face",
                weights["non_face_to_face"],
                "Onboarded without meeting in person",
            )
        )
    if open_alerts > 0:
        points = min(open_alerts * weights["open_alert"], weights["open_alerts_max"])
        noun = "alert" if open_alerts == 1 else "alerts"
        factors.append(
            Factor("monitoring", points, f"{open_alerts} open transaction-monitoring {noun}")
        )

    score = sum(f.points for f in factors)
    band = "high" if prohibited or freeze else band_for(score, bands=bands)
    return RiskScore(
        score=score, band=band, prohibited=prohibited, freeze=freeze, factors=tuple(factors)
    )


def next_review(*, band: str, on: date, review_years: Mapping[str, int]) -> date:
    years = review_years[band]
    try:
        return on.replace(year=on.year + years)
    except ValueError:  # 29 February
        return on.replace(year=on.year + years, day=28)
