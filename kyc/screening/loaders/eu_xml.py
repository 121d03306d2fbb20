"""EU Financial Sanctions Files (FSF) XML: one sanctionEntity per subject.

nameAlias carries strong="false" for weak aliases; citizenship and birthdate hold ISO-2
codes and partial dates (a bare year when day and month are unknown).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from kyc.screening.exceptions import LoadRefused
from kyc.screening.loaders import EntityRecord, children, iter_xml
from kyc.screening.names import partial_date

SCHEMAS = {"person": "Person", "enterprise": "Organization"}


def _birthdate(element) -> str | None:
    if full := element.get("birthdate"):
        return partial_date(full)
    year = element.get("year")
    if not year:
        return None
    month = element.get("monthOfYear")
    if month:
        return partial_date(f"{year}-{int(month):02d}")
    return partial_date(year)


def parse(paths: Sequence[Path]) -> Iterator[EntityRecord]:
    if len(paths) != 1:
        raise LoadRefused("eu-xml takes one file, the FSF full list")
    for entity in iter_xml(paths[0], root="export", tags=("sanctionEntity",)):
        ref = entity.get("euReferenceNumber") or entity.get("logicalId")
        subject = children(entity, "subjectType")
        code = subject[0].get("code", "") if subject else ""
        aliases = children(entity, "nameAlias")
        if not ref or not aliases:
            raise LoadRefused(f"{paths[0].name}: a sanctionEntity lacks its reference or names")
        record = EntityRecord(source_id=ref, schema=SCHEMAS.get(code, "LegalEntity"), caption="")
        for alias in aliases:
            whole = alias.get("wholeName") or " ".join(
                p
                for p in (alias.get("firstName"), alias.get("middleName"), alias.get("lastName"))
                if p
            )
            record.add_name(whole, weak=alias.get("strong", "true").lower() == "false")
        record.caption = record.names[0]["name"] if record.names else ref
        for regulation in children(entity, "regulation"):
            record.add_unique("programs", regulation.get("programme"))
        for citizenship in children(entity, "citizenship"):
            code = (citizenship.get("countryIso2Code") or "").upper()
            if len(code) == 2 and code.isalpha():  # "00" means unknown
                record.add_unique("countries", code)
        for birth in children(entity, "birthdate"):
            record.add_unique("birth_dates", _birthdate(birth))
        for ident in children(entity, "identification"):
            if number := ident.get("number"):
                record.identifiers.append(
                    {"type": ident.get("identificationTypeCode", ""), "number": number}
                )
        if un_id := entity.get("unitedNationId"):
            record.identifiers.append({"type": "UN reference", "number": un_id})
        yield record
