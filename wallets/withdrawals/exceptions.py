"""Withdrawal errors; each message is shown to the person who acted, in plain words."""

from __future__ import annotations

from wallets.exceptions import WalletError


class WithdrawalError(WalletError):
    """A withdrawal request or decision was refused; nothing was written."""
