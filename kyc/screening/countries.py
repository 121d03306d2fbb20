"""Country names as the lists write them -> ISO 3166-1 alpha-2."""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Names the lists use that pycountry's lookup doesn't know.
_ALIASES = {
    "russia": "RU",
    "russian federation": "RU",
    "burma": "MM",
    "korea, north": "KP",
    "north korea": "KP",
    "democratic people's republic of korea": "KP",
    "korea, south": "KR",
    "south korea": "KR",
    "kosovo": "XK",
    "syria": "SY",
    "iran": "IR",
    "laos": "LA",
    "vietnam": "VN",
    "palestinian": "PS",
    "west bank": "PS",
    "gaza": "PS",
    "congo, democratic republic of the": "CD",
    "democratic republic of the congo": "CD",
    "congo, republic of the": "CG",
    "turkey": "TR",
    "macedonia": "MK",
    "moldova": "MD",
    "tanzania": "TZ",
    "bolivia": "BO",
    "venezuela": "VE",
    "united states": "US",
    "united kingdom": "GB",
    "czech republic": "CZ",
    "ivory coast": "CI",
    "cote d'ivoire": "CI",
}


@lru_cache(maxsize=2048)
def country_code(name: str) -> str | None:
    text = (name or "").strip().rstrip(".")
    if not text:
        return None
    if len(text) == 2 and text.isalpha():
        return text.upper()
    alias = _ALIASES.get(text.lower())
    if alias:
        return alias
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError:
        return None
