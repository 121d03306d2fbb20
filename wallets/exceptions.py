"""Errors of the wallet features built on the ledger; each message is shown to the user."""

from __future__ import annotations

from brokerage.exceptions import ApplicationError


class WalletError(ApplicationError):
    """A wallet request was refused; nothing was written."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs under, if any


class ConversionError(WalletError):
    pass


class AdjustmentError(WalletError):
    pass
