from __future__ import annotations

import os
from urllib.parse import quote

import pytest
from django.db import connection


def database_url() -> str:
    """The URL of the database this test run uses (the test database), for subprocesses."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or ""
    if host.startswith("/"):
        return f"postgresql://{auth}@/{s['NAME']}?host={host}"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{s['NAME']}"


@pytest.fixture
def subprocess_env(transactional_db, settings):
    """Environment for a process that must share this test run's database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(
        DJANGO_SETTINGS_MODULE="brokerage.settings.dev",
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        BROKERAGE_EMBEDDED_STOP_AT_EXIT="0",
        PYTHONUNBUFFERED="1",
    )
    return env
