"""Development: `make run` and any manage.py command in a checkout."""

from brokerage import devservices
from brokerage.env import env_bool, env_str

from .base import *  # noqa: F403

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", "") or devservices.dev_secret_key()
# The demo must work offline: e-mails (verification, password reset) go to the console.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
# WhiteNoise serves from the finders in development; an empty STATIC_ROOT keeps it quiet.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
