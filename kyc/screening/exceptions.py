from __future__ import annotations

from brokerage.exceptions import ApplicationError


class ScreeningError(ApplicationError):
    pass


class LoadRefused(ScreeningError):
    """A list file was malformed, truncated or shrank too much; the old version stays active."""
