"""Settings for the benchmark server: development settings (embedded PostgreSQL/Redis unless
DATABASE_URL/REDIS_URL are set) with DEBUG off, and a URLconf that adds the trivial baseline
view (bench/urls.py) so it is never part of the real site."""

import os
import warnings

from brokerage.settings.dev import *  # noqa: F403

DEBUG = False
WHITENOISE_AUTOREFRESH = False
ROOT_URLCONF = "bench.urls"
# The benchmark only ever talks to its own server on the loopback interface.
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# WhiteNoise warns at start-up that STATIC_ROOT does not exist (development serves static
# files through the finders instead, so nothing is missing).
warnings.filterwarnings("ignore", message=r"No directory at: .*staticfiles")

# A benchmark that works in a database of its own (bench/payments.py) starts its server with
# BENCH_DB_NAME, on the same PostgreSQL server. The tasks that server enqueues name rows of
# that throwaway database, so they stay in its own memory (Celery's in-memory transport)
# rather than reach the developer's worker; e-mail goes nowhere.
if os.environ.get("BENCH_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["BENCH_DB_NAME"]  # noqa: F405
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
