"""The Web API handshake hashes (spec section 1), computed on raw bytes."""

from __future__ import annotations

import hashlib
import hmac


def _md5(data: bytes) -> bytes:
    # MD5 is the protocol's choice, not ours.
    return hashlib.md5(data, usedforsecurity=False).digest()


def password_hash(password: str) -> bytes:
    """MD5(MD5(password as UTF-16LE) || b"WebAPI")."""
    return _md5(_md5(password.encode("utf-16-le")) + b"WebAPI")


def rand_answer(pw_hash: bytes, rand_hex: str) -> str:
    """hex(MD5(pw_hash || bytes.fromhex(rand))): both srv_rand_answer and cli_rand_answer."""
    return _md5(pw_hash + bytes.fromhex(rand_hex)).hex()


def answers_match(expected_hex: str, given_hex: str) -> bool:
    return hmac.compare_digest(expected_hex.lower().encode(), given_hex.strip().lower().encode())
