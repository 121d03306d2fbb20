"""Strict settings from the environment.

django-environ parses URLs well but is lenient with scalars (``env.bool("X")`` reads
"maybe" as False). A brokerage must not start with a half-understood setting, so every
scalar goes through these helpers, which refuse a bad value with a message naming the
variable.
"""

from __future__ import annotations

import os
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

_env = environ.Env()
_MISSING: Any = object()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str, default: Any) -> str | Any:
    value = os.environ.get(name)
    if value is None:
        if default is _MISSING:
            raise ImproperlyConfigured(f"Environment variable {name} is required but not set.")
        return default
    return value.strip()


def env_str(name: str, default: Any = _MISSING) -> str:
    return _raw(name, default)


def env_bool(name: str, default: Any = _MISSING) -> bool:
    value = _raw(name, default)
    if isinstance(value, bool):
        return value
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not a boolean; use one of: true, false, 1, 0."
    )


def env_int(
    name: str, default: Any = _MISSING, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    value = _raw(name, default)
    if isinstance(value, int):
        number = value
    else:
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(
                f"Environment variable {name}={value!r} is not a whole number."
            ) from None
    if minimum is not None and number < minimum or maximum is not None and number > maximum:
        raise ImproperlyConfigured(
            f"Environment variable {name}={number} is out of range [{minimum}, {maximum}]."
        )
    return number


def env_list(name: str, default: Any = _MISSING) -> list[str]:
    value = _raw(name, default)
    if isinstance(value, list):
        return value
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, choices: tuple[str, ...], default: Any = _MISSING) -> str:
    value = _raw(name, default)
    if value not in choices:
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} must be one of: {', '.join(choices)}."
        )
    return value


def env_database(name: str) -> dict[str, Any]:
    value = _raw(name, _MISSING)
    try:
        config = _env.db_url_config(value)
    except Exception as exc:  # environ raises several types for a bad URL
        raise ImproperlyConfigured(
            f"Environment variable {name} is not a database URL: {exc}"
        ) from exc
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"Environment variable {name} must be a PostgreSQL URL (postgres://...); "
            f"this product runs on PostgreSQL only."
        )
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"Environment variable {name} names no database.")
    return dict(config)


def env_email(name: str) -> dict[str, Any]:
    """EMAIL_* settings from one URL (smtp://, smtp+tls://, smtp+ssl://, consolemail://)."""
    value = _raw(name, _MISSING)
    try:
        config = _env.email_url_config(value)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"Environment variable {name} is not an e-mail URL: {exc}"
        ) from exc
    if not config.get("EMAIL_BACKEND"):
        raise ImproperlyConfigured(f"Environment variable {name} names no known e-mail scheme.")
    return dict(config)


def env_redis_url(name: str) -> str:
    value = _raw(name, _MISSING)
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} must start with redis://, rediss:// or unix://."
        )
    return value
