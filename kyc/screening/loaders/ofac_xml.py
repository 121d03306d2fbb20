"""OFAC sdn.xml: one sdnEntry per entity; aka category is "strong" or "weak"."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from kyc.screening.countries import country_code
from kyc.screening.exceptions import LoadRefused
from kyc.screening.loaders import EntityRecord, child_text, children, iter_xml
from kyc.screening.names import partial_date

SCHEMAS = {
    "individual": "Person",
    "vessel": "Vessel",
    "aircraft": "Airplane",
    "entity": "Organization",
}


def _full_name(element) -> str:
    first = child_text(element, "firstName")
    last = child_text(element, "lastName")
    return " ".join(part for part in (first, last) if part)


def parse(paths: Sequence[Path]) -> Iterator[EntityRecord]:
    if len(paths) != 1:
        raise LoadRefused("ofac-xml takes one file, sdn.xml")
    for entry in iter_xml(paths[0], root="sdnList", tags=("sdnEntry",)):
        uid = child_text(entry, "uid")
        name = _full_name(entry)
        if not uid or not name:
            raise LoadRefused(f"{paths[0].name}: an sdnEntry lacks its uid or name")
        schema = SCHEMAS.get(child_text(entry, "sdnType").lower(), "Organization")
        record = EntityRecord(source_id=uid, schema=schema, caption=name)
        record.add_name(name)
        record.programs = [p.text.strip() for p in children(entry, "program") if p.text]
        for aka in children(entry, "aka"):
            weak = child_text(aka, "category").lower() == "weak"
            record.add_name(_full_name(aka), weak=weak)
        for item in children(entry, "dateOfBirthItem"):
            record.add_unique("birth_dates", partial_date(child_text(item, "dateOfBirth")))
        for tag in ("nationality", "citizenship"):
            for item in children(entry, tag):
                record.add_unique("countries", country_code(child_text(item, "country")))
        for item in children(entry, "address"):
            record.add_unique("countries", country_code(child_text(item, "country")))
        for item in children(entry, "id"):
            number = child_text(item, "idNumber")
            if number:
                entry_id = {"type": child_text(item, "idType"), "number": number}
                if entry_id not in record.identifiers:
                    record.identifiers.append(entry_id)
        yield record
