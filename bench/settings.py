"""Settings for the benchmark server: development settings (embedded PostgreSQL/Redis unless
DATABASE_URL/REDIS_URL are set) with DEBUG off, and a URLconf that adds the trivial baseline
view (bench/urls.py) so it is never part of the real site."""

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
