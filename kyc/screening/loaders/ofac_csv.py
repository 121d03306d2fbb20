"""OFAC's legacy CSV triple: sdn.csv, alt.csv, add.csv.

No header row; every null is "-0-" (often with a trailing space); rows join on ent_num.
Birth dates, documents, nationalities and the weak a.k.a. names live in sdn's Remarks as
"; "-separated items, each possibly prefixed "alt.".
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from kyc.screening.countries import country_code
from kyc.screening.exceptions import LoadRefused
from kyc.screening.loaders import EntityRecord
from kyc.screening.names import display_name, partial_date

SDN_COLUMNS = 12
ALT_COLUMNS = 5
ADD_COLUMNS = 6
SCHEMAS = {"individual": "Person", "vessel": "Vessel", "aircraft": "Airplane"}

_DOB = re.compile(r"^DOB (?P<date>.+)$")
_COUNTRY = re.compile(r"^(?:nationality|citizen) (?P<country>.+)$")
_DOCUMENT = re.compile(
    r"^(?P<type>Passport|Cedula No\.|National ID No\.|Tax ID No\.|SSN|NIT #|"
    r"Registration Number|Registration ID|Business Registration Number|"
    r"UK Company Number|V\.A\.T\. Number|Identification Number|"
    r"Vessel Registration Identification|MMSI|Digital Currency Address - \w+)"
    r" (?P<number>[^()]+?)(?: \((?P<country>[^)]+)\))*$"
)


def null(value: str) -> str:
    value = value.strip()
    return "" if value == "-0-" else value


def _rows(path: Path, columns: int) -> Iterator[list[str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            for number, row in enumerate(csv.reader(handle, strict=True), 1):
                if not row or row == [""] or row == ["\x1a"]:
                    continue  # blank lines and the DOS end-of-file mark OFAC appends
                if len(row) != columns:
                    raise LoadRefused(
                        f"{path.name} line {number}: {len(row)} columns, expected {columns}"
                    )
                if not row[0].strip().isdigit():
                    raise LoadRefused(
                        f"{path.name} line {number}: ent_num {row[0]!r} is not a number"
                    )
                yield row
    except csv.Error as exc:
        raise LoadRefused(f"{path.name}: malformed CSV ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise LoadRefused(f"{path.name}: not UTF-8 ({exc.reason})") from exc
    except OSError as exc:
        raise LoadRefused(f"{path.name}: cannot be read ({exc})") from exc


def apply_remarks(record: EntityRecord, remarks: str) -> None:
    for raw in remarks.rstrip(".").split(";"):
        item = raw.strip().rstrip(".")
        if item.startswith("alt. "):
            item = item[5:]
        if match := _DOB.match(item):
            date = partial_date(match["date"])
            record.add_unique("birth_dates", date)
        elif item.startswith("a.k.a. '") and item.endswith("'"):
            record.add_name(item[8:-1], weak=True)
        elif match := _COUNTRY.match(item):
            record.add_unique("countries", country_code(match["country"]))
        elif match := _DOCUMENT.match(item):
            doc_type = match["type"].rstrip(" .#").replace(" No", "")
            number = match["number"].strip()
            if number.startswith("IMO "):
                doc_type, number = "IMO", number[4:]
            entry = {"type": doc_type, "number": number}
            if entry not in record.identifiers:
                record.identifiers.append(entry)


def _files(paths: Sequence[Path]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in paths:
        stem = path.name.lower()
        for kind in ("sdn", "alt", "add"):
            if stem.startswith(kind) and "comments" not in stem:
                found[kind] = path
    if "sdn" not in found:
        raise LoadRefused("ofac-csv needs sdn.csv (and alt.csv, add.csv)")
    return found


def parse(paths: Sequence[Path]) -> Iterator[EntityRecord]:
    files = _files(paths)
    records: dict[str, EntityRecord] = {}
    for row in _rows(files["sdn"], SDN_COLUMNS):
        ent_num = row[0].strip()
        name = null(row[1])
        if not name:
            raise LoadRefused(f"sdn.csv: entry {ent_num} has no name")
        sdn_type = null(row[2]).lower()
        schema = SCHEMAS.get(sdn_type, "Organization")
        caption = display_name(name) if schema == "Person" else name
        record = EntityRecord(source_id=ent_num, schema=schema, caption=caption)
        record.add_name(caption)
        record.programs = [p.strip() for p in null(row[3]).split("] [") if p.strip()]
        if flag := country_code(null(row[9])):
            record.add_unique("countries", flag)
        if call_sign := null(row[5]):
            record.identifiers.append({"type": "Call Sign", "number": call_sign})
        apply_remarks(record, null(row[11]))
        records[ent_num] = record
    if not records:
        raise LoadRefused("sdn.csv has no entries")
    if "alt" in files:
        for row in _rows(files["alt"], ALT_COLUMNS):
            owner = records.get(row[0].strip())
            alt_name = null(row[3])
            if owner is not None and alt_name:
                owner.add_name(display_name(alt_name) if owner.schema == "Person" else alt_name)
    if "add" in files:
        for row in _rows(files["add"], ADD_COLUMNS):
            owner = records.get(row[0].strip())
            if owner is not None:
                owner.add_unique("countries", country_code(null(row[4])))
    yield from records.values()
