from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from kyc.screening.exceptions import LoadRefused
from kyc.screening.loaders import FORMATS
from kyc.screening.services import watchlist_load


class Command(BaseCommand):
    help = "Load a sanctions list file (or the OFAC CSV triple) as the new active version."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("paths", nargs="+", type=Path)

    def handle(self, *args, fmt: str, paths: list[Path], **options):
        try:
            version = watchlist_load(fmt=fmt, paths=paths)
        except LoadRefused as exc:
            raise CommandError(f"refused: {exc}") from exc
        self.stdout.write(
            f"{version.source} version {version.pk} active: {version.entity_count} entities "
            f"({version.added_count} new, {version.changed_count} changed, "
            f"{version.delisted_count} delisted)"
        )
