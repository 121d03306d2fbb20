"""Machine-readable zones (ICAO Doc 9303): parse the lines, validate every check digit, and
compare what the document says with what the client typed.

Pure functions on text; kyc.documents.ocr finds the zone in an image and gives the lines here.
TD1 (ID cards, 3 x 30), TD2 (2 x 36) and TD3 (passports, 2 x 44) are read.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

FILLER = "<"
_WEIGHTS = (7, 3, 1)


class MrzError(ValueError):
    """The text is not a machine-readable zone of a known format."""


def check_digit(text: str) -> str:
    """ICAO 9303 part 3, 4.9: digits count as themselves, A-Z as 10-35, the filler as 0,
    weighted 7-3-1 repeating; the digit is the sum modulo 10."""
    total = 0
    for position, char in enumerate(text):
        if char.isdigit():
            value = int(char)
        elif "A" <= char <= "Z":
            value = ord(char) - ord("A") + 10
        elif char == FILLER:
            value = 0
        else:
            raise MrzError(f"{char!r} is not an MRZ character")
        total += value * _WEIGHTS[position % 3]
    return str(total % 10)


def _holds(data: str, digit: str) -> bool:
    # A filler where a check digit stands is allowed only over an all-filler (empty) field.
    if digit == FILLER:
        return set(data) <= {FILLER}
    return check_digit(data) == digit


@dataclass
class MrzReading:
    format: str  # TD1, TD2 or TD3
    document_type: str
    issuer: str
    surname: str
    given_names: str
    document_number: str
    nationality: str
    date_of_birth: str | None  # ISO date, or None when the digits are not a date
    sex: str
    expires_on: str | None
    optional_data: str
    checks: dict[str, bool] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return all(self.checks.values())

    @property
    def failed_checks(self) -> list[str]:
        return [name for name, ok in self.checks.items() if not ok]

    def fields(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("checks")
        return data


def _names(text: str) -> tuple[str, str]:
    surname, _, given = text.partition(FILLER * 2)
    return (
        surname.replace(FILLER, " ").strip(),
        " ".join(given.replace(FILLER, " ").split()),
    )


def _date(yymmdd: str, *, future: bool) -> str | None:
    """Two-digit years: a birth date is never in the future; an expiry is this century."""
    try:
        parsed = dt.datetime.strptime(yymmdd, "%y%m%d").date()
    except ValueError:
        return None
    year = 2000 + parsed.year % 100
    if not future and year > dt.date.today().year:
        year -= 100
    try:
        return parsed.replace(year=year).isoformat()
    except ValueError:  # 29 February of a year that is not a leap year
        return None


def _clean(text: str) -> str:
    return text.strip().replace(FILLER, "")


def normalise_lines(text: str | list[str]) -> list[str]:
    lines = text.splitlines() if isinstance(text, str) else list(text)
    return [line.strip().replace(" ", "").upper() for line in lines if line.strip()]


def parse(text: str | list[str]) -> MrzReading:
    """Parse an MRZ (lines as text or a list) and validate each of its check digits."""
    lines = normalise_lines(text)
    lengths = [len(line) for line in lines]
    if lengths == [30, 30, 30]:
        reading = _td1(*lines)
    elif lengths == [36, 36]:
        reading = _td2(*lines)
    elif lengths == [44, 44]:
        reading = _td3(*lines)
    else:
        raise MrzError(f"not a TD1, TD2 or TD3 machine-readable zone (line lengths {lengths})")
    reading.lines = lines
    return reading


def _td1(a: str, b: str, c: str) -> MrzReading:
    number, number_check, optional1 = a[5:14], a[14], a[15:30]
    number_data = number
    if number_check == FILLER and optional1.strip(FILLER):
        # A number longer than 9 characters runs on into the optional field, ending in its
        # check digit (9303 part 5, note j).
        rest = optional1.split(FILLER, 1)[0]
        number_data, number_check = number + rest[:-1], rest[-1:]
        optional1 = optional1[len(rest) :]
    surname, given = _names(c)
    composite_data = a[5:30] + b[0:7] + b[8:15] + b[18:29]
    return MrzReading(
        format="TD1",
        document_type=_clean(a[0:2]),
        issuer=_clean(a[2:5]),
        surname=surname,
        given_names=given,
        document_number=_clean(number_data),
        nationality=_clean(b[15:18]),
        date_of_birth=_date(b[0:6], future=False),
        sex=_clean(b[7]),
        expires_on=_date(b[8:14], future=True),
        optional_data=_clean(optional1 + b[18:29]),
        checks={
            "document_number": _holds(number_data, number_check),
            "date_of_birth": _holds(b[0:6], b[6]),
            "expires_on": _holds(b[8:14], b[14]),
            "composite": _holds(composite_data, b[29]),
        },
    )


def _two_line(a: str, b: str, *, format: str, optional_end: int) -> MrzReading:
    surname, given = _names(a[5:])
    checks = {
        "document_number": _holds(b[0:9], b[9]),
        "date_of_birth": _holds(b[13:19], b[19]),
        "expires_on": _holds(b[21:27], b[27]),
    }
    if format == "TD3":
        checks["personal_number"] = _holds(b[28:42], b[42])
        checks["composite"] = _holds(b[0:10] + b[13:20] + b[21:43], b[43])
    else:
        checks["composite"] = _holds(b[0:10] + b[13:20] + b[21:35], b[35])
    return MrzReading(
        format=format,
        document_type=_clean(a[0:2]),
        issuer=_clean(a[2:5]),
        surname=surname,
        given_names=given,
        document_number=_clean(b[0:9]),
        nationality=_clean(b[10:13]),
        date_of_birth=_date(b[13:19], future=False),
        sex=_clean(b[20]),
        expires_on=_date(b[21:27], future=True),
        optional_data=_clean(b[28:optional_end]),
        checks=checks,
    )


def _td2(a: str, b: str) -> MrzReading:
    return _two_line(a, b, format="TD2", optional_end=35)


def _td3(a: str, b: str) -> MrzReading:
    return _two_line(a, b, format="TD3", optional_end=42)


# --- comparing with what the client typed ---------------------------------------------------


def _ascii_upper(text: str) -> str:
    """Names as an MRZ writes them: Latin capitals, no accents, other characters as spaces.
    (ICAO's transliteration writes Ü as UE as well; both spellings are accepted below.)"""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join("".join(ch if "A" <= ch <= "Z" else " " for ch in letters.upper()).split())


def _german_spelling(text: str) -> str:
    for umlaut, spelt in (("Ä", "AE"), ("Ö", "OE"), ("Ü", "UE"), ("ß", "SS")):
        text = text.upper().replace(umlaut, spelt)
    return text


def _name_agrees(typed: str, read: str) -> bool:
    if not typed or not read:
        return True  # nothing to compare
    for spelling in {_ascii_upper(typed), _ascii_upper(_german_spelling(typed))}:
        # The MRZ truncates long names to fit the line: a typed name may run past it.
        if spelling == read or (len(read) >= 3 and spelling.startswith(read)):
            return True
        # A client may type only the first of several given names.
        if spelling and read.split()[:1] == spelling.split()[:1] and spelling in read:
            return True
    return False


# ICAO codes that are not ISO 3166-1 alpha-3 (9303 part 3, 5).
_ICAO_SPECIAL = {"D": "DE", "GBD": "GB", "GBN": "GB", "GBO": "GB", "GBP": "GB", "GBS": "GB"}


def country_alpha2(code: str) -> str | None:
    code = code.strip(FILLER)
    if code in _ICAO_SPECIAL:
        return _ICAO_SPECIAL[code]
    import pycountry

    country = pycountry.countries.get(alpha_3=code) if len(code) == 3 else None
    return country.alpha_2 if country is not None else None


def mismatches(
    reading: MrzReading, *, first_name: str, last_name: str, country: str
) -> list[dict[str, str]]:
    """Where the document disagrees with the client's profile, each as
    {field, typed, document}; empty when they agree (or there is nothing to compare)."""
    found = []
    if not _name_agrees(last_name, reading.surname):
        found.append({"field": "last_name", "typed": last_name, "document": reading.surname})
    if not _name_agrees(first_name, reading.given_names):
        found.append({"field": "first_name", "typed": first_name, "document": reading.given_names})
    if country and reading.nationality and country_alpha2(reading.nationality) != country.upper():
        found.append({"field": "country", "typed": country, "document": reading.nationality})
    return found
