from __future__ import annotations

from brokerage.exceptions import ApplicationError


class LedgerError(ApplicationError):
    """A posting was refused; nothing was written."""


class UnknownAccount(LedgerError):
    pass


class AccountNotOpen(LedgerError):
    pass


class InsufficientFunds(LedgerError):
    pass


class InvalidAmount(LedgerError):
    """Zero, negative, or more decimals than the currency has."""


class CurrencyMismatch(LedgerError):
    pass


class UnbalancedJournal(LedgerError):
    pass


class IdempotencyConflict(LedgerError):
    """The key was used before for a different request (HTTP 409 at the edge)."""


class HoldAlreadyResolved(LedgerError):
    pass


class NotAHold(LedgerError):
    pass


class AlreadyReversed(LedgerError):
    pass


class NotReversible(LedgerError):
    pass


# SQLSTATE raised by wallets/ledger/sql.py -> exception type
SQLSTATE_ERRORS: dict[str, type[LedgerError]] = {
    "LG001": UnknownAccount,
    "LG002": AccountNotOpen,
    "LG003": InsufficientFunds,  # the set-based batch (sql.BATCH_FUNCTION)
    "LG004": InvalidAmount,
    "LG005": CurrencyMismatch,
    "LG006": UnbalancedJournal,
    "LG007": IdempotencyConflict,
}
