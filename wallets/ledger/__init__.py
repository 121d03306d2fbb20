"""The double-entry ledger: the only code that moves money (see docs/decisions/0003)."""
