"""Name and date normalisation shared by the loaders and the matcher.

Transliteration is anyascii (ISC licence, pure Python: no ICU to compile). Tokens are
lower-case ASCII words; the phonetic key is metaphone with a leading vowel folded to "A",
so Osama/Usama and Ayman/Aiman fall in the same block.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jellyfish
from anyascii import anyascii

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Honorifics and legal-form words that say nothing about who someone is.
STOPWORDS = frozenset(
    {
        "dr", "mr", "mrs", "ms", "sheikh", "shaykh", "sheik", "haji", "hajji", "the",
        "ltd", "llc", "inc", "co", "sa", "jr", "sr", "de", "of", "and",
        # Arabic articles and patronymic particles: written, hyphenated or dropped at will.
        "al", "el", "bin", "ibn", "ben",
    }
)  # fmt: skip


def ascii_text(text: str) -> str:
    return anyascii(text or "")


@lru_cache(maxsize=200_000)
def tokens(name: str) -> tuple[str, ...]:
    """Lower-case ASCII tokens of a name, in order; apostrophes join ("Ma'mun" -> mamun)."""
    text = ascii_text(name).lower().replace("'", "").replace("`", "")
    return tuple(t for t in _NON_WORD.split(text) if t)


def name_tokens(name: str) -> tuple[str, ...]:
    """Tokens that carry identity: no honorifics, no legal forms."""
    found = tokens(name)
    kept = tuple(t for t in found if t not in STOPWORDS)
    return kept or found


@lru_cache(maxsize=200_000)
def phonetic(token: str) -> str:
    if not token.isalpha():
        return token
    key = jellyfish.metaphone(token)
    if key and key[0] in "AEIOU":
        key = "A" + key[1:]
    return key


# Romanisation habits that differ between lists and passports: Yousef/Yusuf, Ivanoff/Ivanov,
# Djamel/Jamel, Sergey/Sergei, Khalid/Halid, Wladimir/Vladimir.
_FOLDS = (
    ("dzh", "j"), ("dj", "j"), ("zh", "j"), ("kh", "h"), ("ph", "f"), ("ck", "k"), ("q", "k"),
    ("ou", "u"), ("oo", "u"), ("ee", "i"), ("ey", "i"), ("ei", "i"), ("iy", "i"), ("y", "i"),
    ("w", "v"), ("ff", "v"),
)  # fmt: skip
_DOUBLED = re.compile(r"(.)\1+")


@lru_cache(maxsize=200_000)
def folded(token: str) -> str:
    """A token with the usual romanisation differences folded away, doubled letters single."""
    for old, new in _FOLDS:
        token = token.replace(old, new)
    return _DOUBLED.sub(r"\1", token)


_VOWELS = str.maketrans("", "", "aeiouy")


def block_keys(token: str) -> tuple[str, ...]:
    """Keys under which a token is indexed besides itself: its phonetic key, its letters
    sorted (catches transpositions) and its consonants (catches vowel slips)."""
    keys = [phonetic(token), "~" + "".join(sorted(token))]
    skeleton = token.translate(_VOWELS)
    if len(skeleton) >= 3:
        keys.append("^" + skeleton)
    return tuple(keys)


def normalise_identifier(number: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", ascii_text(number).upper())


def display_name(name: str) -> str:
    """OFAC writes "LAST, First": turn it into "First LAST" for people."""
    if name.count(",") == 1:
        last, first = (part.strip() for part in name.split(","))
        if first and last:
            return f"{first} {last}"
    return name.strip()


_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_DATE_PATTERNS = (
    re.compile(r"^(?P<d>\d{1,2}) (?P<m>[A-Za-z]{3})[a-z]* (?P<y>\d{4})$"),
    re.compile(r"^(?P<m>[A-Za-z]{3})[a-z]* (?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})(?:-(?P<d>\d{2}))?$"),
)


def partial_date(text: str) -> str | None:
    """'19 Jun 1951' -> '1951-06-19', 'Jun 1951' -> '1951-06', '1951' -> '1951'; else None."""
    text = (text or "").strip()
    if text.lower().startswith("circa "):
        text = text[6:]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        parts = match.groupdict()
        year = parts["y"]
        month = parts.get("m")
        if month and not month.isdigit():
            month_no = _MONTHS.get(month[:3].lower())
            if month_no is None:
                return None
            month = f"{month_no:02d}"
        day = parts.get("d")
        if month and day:
            return f"{year}-{month}-{int(day):02d}"
        if month:
            return f"{year}-{month}"
        return year
    return None
