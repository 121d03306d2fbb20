from __future__ import annotations

import json
import re

from django.core.management.base import BaseCommand, CommandError

from kyc.screening.selectors import screen_name

DOB = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class Command(BaseCommand):
    help = "Screen a name against the active sanctions lists and print the candidates."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--dob", help="YYYY, YYYY-MM or YYYY-MM-DD")
        parser.add_argument("--country", help="ISO 3166-1 alpha-2")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(
        self, *args, name: str, dob: str | None, country: str | None, as_json: bool, **options
    ):
        if dob and not DOB.match(dob):
            raise CommandError(f"--dob {dob!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")
        if country and not re.fullmatch(r"[A-Za-z]{2}", country):
            raise CommandError(f"--country {country!r}: expected a two-letter ISO code")
        result = screen_name(name=name, dob=dob, country=country)
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
            return
        for candidate in result.candidates:
            entity = candidate.entity
            self.stdout.write(
                f"{candidate.score:.2f}  {candidate.decision:<6}  {entity.caption}  "
                f"[{entity.source}:{entity.source_id}]\n        {candidate.explanation}"
            )
        self.stdout.write(f"decision: {result.decision}")
