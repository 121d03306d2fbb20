"""Errors of the deposit flow; each message is shown to the person who asked."""

from __future__ import annotations

from brokerage.exceptions import ApplicationError


class PaymentError(ApplicationError):
    """A payment request was refused; nothing was held or credited."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs under, if any


class DepositRefused(PaymentError):
    pass


class ProviderDown(PaymentError):
    """The provider could not be reached or refused to start the payment."""


class RefundRefused(PaymentError):
    pass
