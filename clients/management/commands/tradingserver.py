"""Wire a trading server without the UI:

manage.py tradingserver add NAME --url URL --login LOGIN --password PASSWORD [--demo]
manage.py tradingserver ping NAME
manage.py tradingserver sync NAME
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from brokerage.secrets_box import seal
from clients.models import TradingServer


class Command(BaseCommand):
    help = "Add a trading server, check that it answers, or run one incremental deal sync."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add (or update) a server")
        add.add_argument("name")
        add.add_argument("--url", required=True)
        add.add_argument("--login", required=True, type=int, help="the manager login")
        add.add_argument("--password", required=True)
        add.add_argument("--demo", action="store_true", help="a demo server (default: live)")
        add.add_argument("--platform", default=TradingServer.Platform.MT5_WEBAPI,
                         choices=TradingServer.Platform.values)  # fmt: skip
        add.add_argument("--insecure", action="store_true", help="accept a self-signed cert")
        add.add_argument("--clock-zone", default="America/New_York")
        add.add_argument("--clock-shift", type=int, default=7)
        for name in ("ping", "sync"):
            sub.add_parser(name).add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            server, created = TradingServer.objects.update_or_create(
                name=options["name"],
                defaults={
                    "url": options["url"],
                    "manager_login": options["login"],
                    "password_sealed": seal(options["password"]),
                    "is_live": not options["demo"],
                    "platform": options["platform"],
                    "verify_tls": not options["insecure"],
                    "clock_zone": options["clock_zone"],
                    "clock_shift_hours": options["clock_shift"],
                },
            )
            word = "added" if created else "updated"
            self.stdout.write(f"{server.name} {word} ({'demo' if options['demo'] else 'live'}).")
            return
        try:
            server = TradingServer.objects.get(name=options["name"])
        except TradingServer.DoesNotExist:
            raise CommandError(f"No trading server is called {options['name']!r}.") from None
        if action == "ping":
            self._ping(server)
        else:
            self._sync(server)

    def _ping(self, server: TradingServer) -> None:
        from clients.platforms.base import PlatformError
        from clients.sync import platform_for_server

        platform = platform_for_server(server)
        try:
            platform.ping()
            now = platform.server_time()
        except PlatformError as exc:
            raise CommandError(f"{server.name}: {type(exc).__name__}: {exc}") from None
        finally:
            platform.close()
        self.stdout.write(
            f"{server.name} answers; its clock reads {now.utc:%Y-%m-%d %H:%M:%S} UTC."
        )

    def _sync(self, server: TradingServer) -> None:
        from clients.sync import deals_sync

        run = deals_sync(server=server, force=True)
        assert run is not None
        if not run.ok:
            raise CommandError(f"{server.name}: sync failed: {run.error}")
        self.stdout.write(
            f"{server.name}: {run.deals_seen} deals read, {run.deals_written} stored or updated."
        )
