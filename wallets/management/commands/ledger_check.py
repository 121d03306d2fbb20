from django.core.management.base import BaseCommand, CommandError

from wallets.ledger.selectors import INVARIANTS, ledger_violations


class Command(BaseCommand):
    help = "Verify every ledger invariant; exits non-zero naming each violation."

    def handle(self, *args, **options) -> None:
        violations = ledger_violations()
        for name in INVARIANTS:
            rows = violations.get(name)
            if rows:
                self.stderr.write(self.style.ERROR(f"FAIL  {name}"))
                for row in rows:
                    self.stderr.write(f"      {row}")
            else:
                self.stdout.write(self.style.SUCCESS(f"ok    {name}"))
        if violations:
            raise CommandError(f"{len(violations)} ledger invariant(s) violated")
