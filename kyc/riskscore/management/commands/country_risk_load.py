"""Load a new country-risk version from a CSV file (after a FATF plenary or an EU amendment).

    python manage.py country_risk_load lists.csv --name "FATF October 2026" \
        --effective 2026-10-23 --notes "FATF statements of 23 October 2026; EU list as of ..." \
        --activate

The CSV has a header row `country,category[,points]`; category is prohibited, fatf_grey or
eu_high_risk; an empty points column takes the category's default (KYC_RISK_COUNTRY_POINTS).
Old versions are never edited: assessments keep pointing at the version they used.
"""

from __future__ import annotations

import csv
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kyc.riskscore.exceptions import RiskError
from kyc.riskscore.services import CountryListing, country_risk_version_create


class Command(BaseCommand):
    help = "Load a new country-risk version from a CSV file (country,category[,points])."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("csv_file")
        parser.add_argument("--name", required=True)
        parser.add_argument("--effective", required=True, help="YYYY-MM-DD")
        parser.add_argument("--notes", default="", help="Where the lists come from")
        parser.add_argument(
            "--activate", action="store_true", help="Make it the active version now"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            effective = date.fromisoformat(options["effective"])
        except ValueError:
            raise CommandError(
                f"--effective must be YYYY-MM-DD, not {options['effective']!r}."
            ) from None
        listings = []
        try:
            with open(options["csv_file"], newline="", encoding="utf-8") as handle:
                for line, row in enumerate(csv.DictReader(handle), start=2):
                    points = (row.get("points") or "").strip()
                    if points and not points.isdigit():
                        raise CommandError(f"Line {line}: points must be a whole number.")
                    listings.append(
                        CountryListing(
                            country=(row.get("country") or "").strip(),
                            category=(row.get("category") or "").strip(),
                            points=int(points) if points else None,
                        )
                    )
        except OSError as exc:
            raise CommandError(f"Can't read {options['csv_file']}: {exc.strerror}.") from exc
        try:
            version = country_risk_version_create(
                name=options["name"],
                effective_date=effective,
                source_notes=options["notes"],
                listings=listings,
                activate=options["activate"],
            )
        except RiskError as exc:
            raise CommandError(exc.message) from exc
        state = "active" if version.is_active else "loaded, not active"
        self.stdout.write(f"{version.name}: {len(listings)} listing(s), {state}.")
