"""Errors of the risk score; each message is shown to the user."""

from __future__ import annotations

from brokerage.exceptions import ApplicationError


class RiskError(ApplicationError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the form field the message belongs under, if any
