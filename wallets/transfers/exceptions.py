from __future__ import annotations

from wallets.exceptions import WalletError


class TransferError(WalletError):
    """A transfer was refused before anything moved; the message says what to do instead."""
