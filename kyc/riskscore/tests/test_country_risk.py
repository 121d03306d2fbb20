from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, ProgrammingError, transaction

from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.models import CountryRiskEntry, CountryRiskVersion
from kyc.riskscore.selectors import country_risk_table, country_risk_version_active
from kyc.riskscore.services import (
    CountryListing,
    country_risk_version_activate,
    country_risk_version_create,
)

pytestmark = pytest.mark.django_db


def _codes(version, category):
    return set(version.entries.filter(category=category).values_list("country", flat=True))


def test_the_seeded_version_is_fatf_june_2026_and_the_only_active_one():
    version = country_risk_version_active()
    assert version.name == "FATF June 2026"
    assert CountryRiskVersion.objects.filter(is_active=True).count() == 1
    assert _codes(version, "prohibited") == {"KP", "IR", "MM"}
    grey = _codes(version, "fatf_grey")
    assert {"BA", "IQ", "KW", "PG"} <= grey  # June and February 2026 additions
    assert not {"DZ", "NA", "NG", "ZA"} & grey  # removed June 2026 / October 2025
    assert len(grey) == 22
    eu = _codes(version, "eu_high_risk")
    assert len(eu) == 26 and {"RU", "BO", "VG", "DZ", "NA"} <= eu
    assert not {"NG", "ZA", "TZ", "ML"} & eu  # removed 29 January 2026
    table = country_risk_table(version=version)
    assert table["BA"] == {"fatf_grey": 30}
    assert table["IR"] == {"prohibited": 100, "eu_high_risk": 30}


def test_a_new_version_is_loaded_beside_the_old_one_and_switched_atomically():
    old = country_risk_version_active()
    old_entries = list(old.entries.values_list("country", "category", "points"))
    new = country_risk_version_create(
        name="FATF October 2026",
        effective_date=date(2026, 10, 23),
        source_notes="test",
        listings=[
            CountryListing("kp", "prohibited"),
            CountryListing("IR", "prohibited"),
            CountryListing("BA", "fatf_grey", points=35),
        ],
        activate=True,
    )
    assert country_risk_version_active() == new
    assert CountryRiskVersion.objects.filter(is_active=True).count() == 1
    assert country_risk_table(version=new) == {
        "KP": {"prohibited": 100},
        "IR": {"prohibited": 100},
        "BA": {"fatf_grey": 35},
    }
    old.refresh_from_db()
    assert not old.is_active
    assert list(old.entries.values_list("country", "category", "points")) == old_entries
    country_risk_version_activate(version=old)
    assert country_risk_version_active() == old


def test_a_published_entry_cannot_be_edited():
    entry = CountryRiskEntry.objects.filter(country="BA").first()
    with pytest.raises(ProgrammingError), transaction.atomic():
        CountryRiskEntry.objects.filter(pk=entry.pk).update(points=0)


def test_the_database_refuses_two_active_versions():
    other = CountryRiskVersion.objects.create(name="x", effective_date=date(2026, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        CountryRiskVersion.objects.filter(pk=other.pk).update(is_active=True)


def test_bad_listings_are_refused_with_a_message():
    with pytest.raises(RiskError, match="“Iran” is not an ISO 3166 two-letter country code"):
        country_risk_version_create(
            name="bad",
            effective_date=date(2026, 1, 1),
            source_notes="",
            listings=[CountryListing("Iran", "prohibited")],
        )
    with pytest.raises(RiskError, match="“black” is not a category"):
        country_risk_version_create(
            name="bad",
            effective_date=date(2026, 1, 1),
            source_notes="",
            listings=[CountryListing("IR", "black")],
        )
    with pytest.raises(RiskError, match="already exists"):
        country_risk_version_create(
            name="FATF June 2026",
            effective_date=date(2026, 1, 1),
            source_notes="",
            listings=[CountryListing("IR", "prohibited")],
        )


def test_the_load_command_reads_a_csv(tmp_path, capsys):
    path = tmp_path / "lists.csv"
    path.write_text("country,category,points\nKP,prohibited,\nIQ,fatf_grey,30\nRU,eu_high_risk,\n")
    call_command(
        "country_risk_load",
        str(path),
        name="FATF Oct 2026",
        effective="2026-10-23",
        notes="FATF statements",
        activate=True,
    )
    assert "FATF Oct 2026: 3 listing(s), active." in capsys.readouterr().out
    version = country_risk_version_active()
    assert country_risk_table(version=version)["RU"] == {"eu_high_risk": 30}
    with pytest.raises(CommandError, match="--effective must be YYYY-MM-DD"):
        call_command("country_risk_load", str(path), name="y", effective="23/10/2026")
