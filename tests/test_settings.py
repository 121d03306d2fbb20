"""Configuration: a bad value stops start-up with a message naming the variable; production
settings pass `check --deploy` with no warnings."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from brokerage import env
from brokerage.paths import BASE_DIR


@pytest.mark.parametrize(
    ("value", "expected"), [("true", True), ("1", True), ("off", False), ("0", False)]
)
def test_bool_accepts_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)
    assert env.env_bool("SOME_FLAG") is expected


def test_bool_refuses_anything_else(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match=r"SOME_FLAG='maybe' is not a boolean"):
        env.env_bool("SOME_FLAG")


def test_int_refuses_text_and_out_of_range(monkeypatch):
    monkeypatch.setenv("SOME_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match=r"SOME_INT='ten' is not a whole number"):
        env.env_int("SOME_INT")
    monkeypatch.setenv("SOME_INT", "5")
    with pytest.raises(ImproperlyConfigured, match=r"SOME_INT=5 is out of range"):
        env.env_int("SOME_INT", minimum=10)


def test_required_variable_missing(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="SOME_SECRET is required but not set"):
        env.env_str("SOME_SECRET")


def test_database_url_must_be_postgres(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///db.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must be a PostgreSQL URL"):
        env.env_database("DATABASE_URL")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@localhost:5432/crm")
    assert env.env_database("DATABASE_URL")["NAME"] == "crm"


def test_redis_url_scheme(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "localhost:6379")
    with pytest.raises(ImproperlyConfigured, match="REDIS_URL='localhost:6379' must start with"):
        env.env_redis_url("REDIS_URL")


def _manage(*args: str, **extra_env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(extra_env)
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_setting_stops_start_up_naming_the_variable():
    result = _manage("check", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "brokerage.settings.production",
    "DATABASE_URL": "postgres://crm@db.internal:5432/crm",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "EMAIL_URL": "smtp+tls://crm:secret@mail.internal:587",
    "DEFAULT_FROM_EMAIL": "no-reply@crm.example.com",
    "ALLOWED_HOSTS": "crm.example.com",
}


def test_production_requires_a_secret_key():
    result = _manage("check", **PRODUCTION)
    assert result.returncode != 0
    assert "SECRET_KEY is required but not set" in result.stderr


def test_production_refuses_the_embedded_database():
    result = _manage(
        "check",
        DJANGO_SETTINGS_MODULE="brokerage.settings.production",
        SECRET_KEY="x" * 60,
        DATABASE_URL="",
        REDIS_URL="",
    )
    assert result.returncode != 0
    assert "DATABASE_URL is required in production" in result.stderr


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **PRODUCTION,
        SECRET_KEY="k8Jz-" + "x7Qv2pLmN4rT9wYb3cFh6dGs1aZe5uKo0iWj8nMq" + "VbR2tY",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_every_environment_variable_is_documented_in_env_example():
    import re

    documented = set(re.findall(r"^([A-Z_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))
    read = set()
    for path in (BASE_DIR / "brokerage").rglob("*.py"):
        text = path.read_text()
        read |= set(re.findall(r"env_[a-z_]+\(\s*\"([A-Z_]+)\"", text))
        read |= set(re.findall(r"environ(?:\.get|\.setdefault)?[\(\[]\"([A-Z_]+)\"", text))
    assert read, "found no settings at all: the pattern is wrong"
    assert read - documented == set()


def test_production_needs_a_mail_server():
    result = _manage(
        "check", **{**PRODUCTION, "EMAIL_URL": ""}, SECRET_KEY="k8Jz-" + "x" * 40 + "Qv2pLmN4rT9wYb"
    )
    assert result.returncode != 0
    assert "Environment variable EMAIL_URL" in result.stderr


def test_client_ip_behind_trusted_proxies(rf, settings):
    from brokerage.audit import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5", REMOTE_ADDR="10.0.0.2")
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.2"  # no proxy configured: the header is not trusted
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.5"  # what our proxy saw; 6.6.6.6 is spoofable
