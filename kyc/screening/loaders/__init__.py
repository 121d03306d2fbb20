"""One parser per list format; each yields EntityRecord and raises LoadRefused on bad input.

XML is read with lxml's iterparse, entity resolution and network access off, so a list
file can neither expand entities nor make us fetch anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lxml import etree

from kyc.screening.exceptions import LoadRefused
from kyc.screening.models import ListSource


@dataclass
class EntityRecord:
    source_id: str
    schema: str
    caption: str
    names: list[dict] = field(default_factory=list)  # {"name": str, "weak": bool}
    birth_dates: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    identifiers: list[dict] = field(default_factory=list)  # {"type": str, "number": str}
    topics: list[str] = field(default_factory=lambda: ["sanction"])
    programs: list[str] = field(default_factory=list)

    def add_name(self, name: str, *, weak: bool = False) -> None:
        name = " ".join((name or "").split())
        if not name:
            return
        for existing in self.names:
            if existing["name"].lower() == name.lower():
                existing["weak"] = existing["weak"] and weak
                return
        self.names.append({"name": name, "weak": weak})

    def add_unique(self, attr: str, value: object) -> None:
        values = getattr(self, attr)
        if value and value not in values:
            values.append(value)

    def content_hash(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(payload.encode()).hexdigest()


Parser = Callable[[Sequence[Path]], Iterator[EntityRecord]]


def iter_xml(path: Path, *, root: str, tags: Sequence[str]) -> Iterator[etree._Element]:
    """Yield each finished element whose local name is in tags; check the root's name."""
    try:
        # S320: resolve_entities=False and no_network=True are the point of this call.
        events = etree.iterparse(  # noqa: S320
            str(path),
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
        )
        seen_root = False
        for event, element in events:
            name = etree.QName(element).localname
            if not seen_root:
                if name != root:
                    raise LoadRefused(f"{path.name}: root element is <{name}>, expected <{root}>")
                seen_root = True
                continue
            if event == "end" and name in tags:
                yield element
                element.clear(keep_tail=False)
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise LoadRefused(f"{path.name}: malformed XML ({exc})") from exc
    except OSError as exc:
        raise LoadRefused(f"{path.name}: cannot be read ({exc})") from exc


def child_text(element: etree._Element, name: str) -> str:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    return [
        child
        for child in element.iter(tag=etree.Element)  # skips unresolved entity references
        if etree.QName(child).localname == name
    ]


def _registry() -> dict[str, tuple[str, Parser]]:
    from kyc.screening.loaders import eu_xml, ofac_csv, ofac_xml, un_xml

    return {
        "ofac-csv": (ListSource.OFAC, ofac_csv.parse),
        "ofac-xml": (ListSource.OFAC, ofac_xml.parse),
        "un-xml": (ListSource.UN, un_xml.parse),
        "eu-xml": (ListSource.EU, eu_xml.parse),
    }


FORMATS = ("ofac-csv", "ofac-xml", "un-xml", "eu-xml")


def parser_for(fmt: str) -> tuple[str, Parser]:
    registry = _registry()
    if fmt not in registry:
        raise LoadRefused(f"unknown list format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return registry[fmt]
