"""The test suite (pytest-django)."""

import os

# A test run that starts the embedded servers itself also stops them when it ends.
os.environ.setdefault("BROKERAGE_EMBEDDED_STOP_AT_EXIT", "1")
# Queues of this run apart from make run's worker (and another test run) on the same Redis;
# a worker the tests start inherits it from the environment.
os.environ.setdefault("CELERY_KEY_PREFIX", f"test-{os.getpid()}:")

from .dev import *  # noqa: E402, F403

DEBUG = False
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
AXES_ENABLED = True
CELERY_TASK_ALWAYS_EAGER = False

# One test database per run, so two runs on one machine (a developer's and a helper's)
# never drop each other's database. Subprocesses of the run (a Celery worker) read it back.
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": os.environ.setdefault("BROKERAGE_TEST_DB", f"test_brokerage_{os.getpid()}")
}
# Transactional tests flush the database with TRUNCATE between tests; the ledger refuses
# TRUNCATE unless a session allows it (tests/ledger proves the wall with it switched off).
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c ledger.allow_truncate=on"  # noqa: F405

# KYC documents of a test run go to a directory of its own, removed when the run ends.
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

KYC_STORAGE_DIR = tempfile.mkdtemp(prefix="kyc-documents-test-")
atexit.register(shutil.rmtree, KYC_STORAGE_DIR, ignore_errors=True)
KYC_CLAMD_SOCKET = ""
