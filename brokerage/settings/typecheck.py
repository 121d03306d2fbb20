"""For mypy's django-stubs plugin: loads the settings without starting any server."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://typecheck@localhost:5432/typecheck")
os.environ.setdefault("REDIS_URL", "redis://localhost:6379/15")

from .dev import *  # noqa: E402, F403
