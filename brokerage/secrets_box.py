"""Secrets the application must read back (a trading server's manager password), encrypted
at rest with Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`).

The key is SECRETS_KEY (a Fernet key: `python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"`), or, when unset, derived from SECRET_KEY. Rotating
SECRET_KEY without setting SECRETS_KEY makes stored secrets unreadable: re-enter them.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class SecretUnreadable(Exception):
    pass


def _fernet() -> Fernet:
    key = getattr(settings, "SECRETS_KEY", "") or ""
    if not key:
        digest = hashlib.sha256(b"brokerage.secrets_box:" + settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key.encode())


def seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "This secret was sealed with another key (SECRETS_KEY or SECRET_KEY changed): "
            "enter it again."
        ) from None
