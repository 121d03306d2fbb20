"""UN Security Council consolidated list: INDIVIDUAL and ENTITY records.

An ENTITY keeps its name in FIRST_NAME. Alias QUALITY "Low" is a weak alias; "Good",
"a.k.a." and "f.k.a." are names the Council stands behind.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from kyc.screening.countries import country_code
from kyc.screening.exceptions import LoadRefused
from kyc.screening.loaders import EntityRecord, child_text, children, iter_xml
from kyc.screening.names import partial_date

NAME_PARTS = ("FIRST_NAME", "SECOND_NAME", "THIRD_NAME", "FOURTH_NAME")


def parse(paths: Sequence[Path]) -> Iterator[EntityRecord]:
    if len(paths) != 1:
        raise LoadRefused("un-xml takes one file, consolidated.xml")
    for element in iter_xml(paths[0], root="CONSOLIDATED_LIST", tags=("INDIVIDUAL", "ENTITY")):
        person = element.tag == "INDIVIDUAL"
        data_id = child_text(element, "DATAID")
        name = " ".join(p for p in (child_text(element, part) for part in NAME_PARTS) if p)
        if not data_id or not name:
            raise LoadRefused(f"{paths[0].name}: a record lacks its DATAID or name")
        record = EntityRecord(
            source_id=data_id, schema="Person" if person else "Organization", caption=name
        )
        record.add_name(name)
        if original := child_text(element, "NAME_ORIGINAL_SCRIPT"):
            record.add_name(original)
        if list_type := child_text(element, "UN_LIST_TYPE"):
            record.programs.append(list_type)
        alias_tag = "INDIVIDUAL_ALIAS" if person else "ENTITY_ALIAS"
        for alias in children(element, alias_tag):
            weak = child_text(alias, "QUALITY").lower() == "low"
            record.add_name(child_text(alias, "ALIAS_NAME"), weak=weak)
        for nationality in children(element, "NATIONALITY"):
            for value in children(nationality, "VALUE"):
                record.add_unique("countries", country_code(value.text or ""))
        for address in children(element, "INDIVIDUAL_ADDRESS" if person else "ENTITY_ADDRESS"):
            record.add_unique("countries", country_code(child_text(address, "COUNTRY")))
        for dob in children(element, "INDIVIDUAL_DATE_OF_BIRTH"):
            for tag in ("DATE", "YEAR", "FROM_YEAR", "TO_YEAR"):
                record.add_unique("birth_dates", partial_date(child_text(dob, tag)))
        for document in children(element, "INDIVIDUAL_DOCUMENT"):
            number = child_text(document, "NUMBER")
            if number:
                record.identifiers.append(
                    {"type": child_text(document, "TYPE_OF_DOCUMENT"), "number": number}
                )
        yield record
