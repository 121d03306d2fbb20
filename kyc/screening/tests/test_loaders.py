from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from kyc.screening.exceptions import LoadRefused
from kyc.screening.models import ListVersion, ScreeningHit, WatchlistEntity
from kyc.screening.services import watchlist_load
from kyc.screening.tests.conftest import FIXTURES, OFAC_CSV
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def entity(source_id: str, source: str = "ofac") -> WatchlistEntity:
    return WatchlistEntity.objects.get(source=source, source_id=source_id)


def names(entity: WatchlistEntity) -> dict[str, bool]:
    return {item["name"]: item["weak"] for item in entity.names}


def test_ofac_csv_is_headerless_and_every_row_is_an_entity():
    version = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    assert version.entity_count == 22
    # The first line of sdn.csv is data, not a header.
    assert entity("306").caption == "BANCO NACIONAL DE CUBA"
    assert set(version.raw_hashes) == {"sdn.csv", "alt.csv", "add.csv"}
    assert all(len(h) == 64 for h in version.raw_hashes.values())


def test_ofac_csv_null_marker_becomes_nothing():
    watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    bank = entity("306")
    # SDN_Type is -0- for an organisation: not a Person, and no "-0-" anywhere.
    assert bank.schema == "Organization"
    assert "-0-" not in str(bank.names) + str(bank.identifiers) + str(bank.countries)
    assert entity("10278").countries == []  # add.csv row with every field -0-


def test_ofac_csv_remarks_give_weak_akas_dates_documents_and_countries():
    watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    khoroshev = entity("48603")
    assert khoroshev.schema == "Person"
    assert khoroshev.caption == "Dmitry Yuryevich KHOROSHEV"
    assert names(khoroshev)["LOCKBITSUPP"] is True  # Remarks a.k.a. -> weak
    assert names(khoroshev)["Dmitriy Yurevich KHOROSHEV"] is False  # alt.csv -> strong
    assert khoroshev.birth_dates == ["1993-04-17"]
    assert {"type": "Passport", "number": "2018278055"} in khoroshev.identifiers
    assert khoroshev.countries == ["RU"]
    assert entity("2681").birth_dates == ["1933"]  # a year alone stays a year
    assert entity("2686").birth_dates == ["1960-08-31", "1953-08-31", "1955-08-31", "1958-08-31"]
    assert entity("11195").countries == ["IR"]  # from add.csv
    assert {"type": "IMO", "number": "9339301"} in entity("47371").identifiers
    assert entity("11195").programs == ["NPWMD", "IFSR", "IRAN-CON-ARMS-EO"]


def test_ofac_xml_aka_category_sets_the_weak_flag():
    version = watchlist_load(fmt="ofac-xml", paths=[FIXTURES / "sdn.xml"])
    assert version.entity_count == 22
    khoroshev = entity("48603")
    assert names(khoroshev)["LOCKBITSUPP"] is True
    assert names(khoroshev)["Dmitriy Yurevich KHOROSHEV"] is False
    assert khoroshev.birth_dates == ["1993-04-17"]
    assert entity("2686").schema == "Person"


def test_un_low_quality_alias_is_weak_and_entities_keep_their_name_in_first_name():
    watchlist_load(fmt="un-xml", paths=[FIXTURES / "un_consolidated.xml"])
    qasim = entity("9900001", "un")
    assert qasim.caption == "QASIM ABDUL RAHIM BARAKZAI"
    assert names(qasim)["Mullah Qasim"] is True
    assert names(qasim)["Qasem Barakzay"] is False
    assert qasim.birth_dates == ["1961"]
    assert qasim.countries == ["AF"]
    assert entity("9900002", "un").countries == ["KP"]
    assert entity("9900003", "un").birth_dates == ["1974", "1975"]
    company = entity("9900101", "un")
    assert company.schema == "Organization"
    assert company.caption == "NORTHERN STAR TRADING COMPANY"


def test_eu_strong_false_is_weak_and_unknown_country_is_dropped():
    watchlist_load(fmt="eu-xml", paths=[FIXTURES / "eu_fsf.xml"])
    person = entity("EU.9901.01", "eu")
    assert names(person)["Vasya Zhuravl"] is True
    assert names(person)["Vasiliy Petrovich Zhuravlyov"] is False
    assert person.birth_dates == ["1971-03-09"]
    assert person.countries == ["RU"]
    assert entity("EU.9902.02", "eu").birth_dates == ["1980"]
    org = entity("EU.9903.03", "eu")
    assert org.schema == "Organization"
    assert org.countries == []  # countryIso2Code="00"
    assert {"type": "UN reference", "number": "QDe.990"} in org.identifiers


def test_malformed_xml_is_refused_and_the_old_version_stays_active(tmp_path):
    old = watchlist_load(fmt="un-xml", paths=[FIXTURES / "un_consolidated.xml"])
    broken = tmp_path / "consolidated.xml"
    broken.write_bytes((FIXTURES / "un_consolidated.xml").read_bytes()[:-200])  # truncated
    with pytest.raises(LoadRefused, match="malformed XML"):
        watchlist_load(fmt="un-xml", paths=[broken])
    assert list(ListVersion.objects.filter(source="un", is_active=True)) == [old]
    assert ListVersion.objects.filter(source="un").count() == 1


def test_xml_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET NAME")
    evil = tmp_path / "consolidated.xml"
    evil.write_text(
        f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        "<CONSOLIDATED_LIST><INDIVIDUALS><INDIVIDUAL><DATAID>1</DATAID>"
        "<FIRST_NAME>A &xxe;</FIRST_NAME></INDIVIDUAL></INDIVIDUALS></CONSOLIDATED_LIST>"
    )
    try:
        watchlist_load(fmt="un-xml", paths=[evil])
    except LoadRefused:
        return  # refusing the file is fine too
    assert "SECRET" not in entity("1", "un").caption


def test_wrong_root_element_is_refused():
    with pytest.raises(LoadRefused, match="expected <sdnList>"):
        watchlist_load(fmt="ofac-xml", paths=[FIXTURES / "eu_fsf.xml"])


def test_truncated_csv_row_is_refused(ofac_files):
    sdn = ofac_files[0]
    sdn.write_text(sdn.read_text()[:-300])
    with pytest.raises(LoadRefused, match="sdn.csv"):
        watchlist_load(fmt="ofac-csv", paths=ofac_files)
    assert not ListVersion.objects.exists()


def test_a_drop_of_more_than_five_percent_is_refused(ofac_files):
    old = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    sdn = ofac_files[0]
    lines = sdn.read_text().splitlines(keepends=True)
    sdn.write_text("".join(lines[:-2]))  # 20 of 22: a 9% drop
    with pytest.raises(LoadRefused, match="drop of more than 5%"):
        watchlist_load(fmt="ofac-csv", paths=ofac_files)
    old.refresh_from_db()
    assert old.is_active
    assert WatchlistEntity.objects.filter(source="ofac", listed=True).count() == 22


def test_delisted_entity_is_no_longer_listed_but_old_hits_keep_it(ofac_files):
    first = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    tasca = entity("52327")
    client = ClientFactory()
    from kyc.screening.models import Screening

    screening = Screening.objects.create(
        client=client, trigger="manual", query_name="Tasca", decision="alert",
        algorithm="x", algorithm_version="1",
    )  # fmt: skip
    ScreeningHit.objects.create(
        screening=screening, entity=tasca, score=0.8, decision="alert",
        matched_name="TASCA", entity_caption="TASCA", explanation="test",
    )  # fmt: skip
    sdn = ofac_files[0]
    sdn.write_text(
        "".join(
            line
            for line in sdn.read_text().splitlines(keepends=True)
            if not line.startswith("52327,")
        )
    )
    second = watchlist_load(fmt="ofac-csv", paths=ofac_files, max_drop=0.05)
    first.refresh_from_db()
    assert (first.is_active, second.is_active) == (False, True)
    assert second.delisted_count == 1
    tasca.refresh_from_db()
    assert tasca.listed is False and tasca.delisted_at is not None
    assert screening.hits.get().entity == tasca  # history intact
    # And reloading it relists it as changed in the new version.
    third = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    tasca.refresh_from_db()
    assert tasca.listed and tasca.changed_in == third
    assert third.changed_count == 1 and third.added_count == 0


def test_only_one_version_per_source_can_be_active():
    version = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    with pytest.raises(IntegrityError), transaction.atomic():
        ListVersion.objects.create(source="ofac", format="ofac-csv", is_active=True)
    assert ListVersion.objects.get(is_active=True) == version


def test_unchanged_reload_marks_nothing_changed():
    watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    again = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    assert (again.added_count, again.changed_count, again.delisted_count) == (0, 0, 0)
    assert entity("48603").last_seen_version == again


def test_load_watchlist_command(capsys):
    call_command("load_watchlist", "--format", "eu-xml", str(FIXTURES / "eu_fsf.xml"))
    assert "eu version" in capsys.readouterr().out
    with pytest.raises(CommandError, match="refused"):
        call_command("load_watchlist", "--format", "un-xml", str(FIXTURES / "eu_fsf.xml"))


def test_a_load_with_new_entities_enqueues_the_delta_rescreen_after_commit(
    django_capture_on_commit_callbacks,
):
    from unittest import mock

    with (
        mock.patch("kyc.screening.tasks.rescreen_version.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        version = watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)
    delay.assert_called_once_with(version.pk)
    with (
        mock.patch("kyc.screening.tasks.rescreen_version.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        watchlist_load(fmt="ofac-csv", paths=OFAC_CSV)  # nothing new or changed
    delay.assert_not_called()
