"""Settings, driven by environment variables (healthchecks' style).

VOUCH_DATA_DIR  where the SQLite database and outbox files live (default ./var)
DATABASE_URL    a PostgreSQL URL; without it Vouch uses SQLite in WAL mode
SECRET_KEY      required in production; a development key is derived otherwise
DEBUG           "1" for development pages
"""

import os
from pathlib import Path

import dj_database_url


def envbool(name: str, default: str = "0") -> bool:
    return os.getenv(name, default).lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    return int(os.getenv(name, str(default)))


BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.getenv("VOUCH_DATA_DIR", "var")).resolve()

SECRET_KEY = os.getenv("SECRET_KEY", "vouch-development-key-change-me-in-production")
DEBUG = envbool("DEBUG")
ALLOWED_HOSTS = os.getenv("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
SITE_ROOT = os.getenv("SITE_ROOT", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "anymail",
    "vouch.sites",
    "vouch.people",
    "vouch.campaigns",
    "vouch.shares",
    "vouch.events",
    "vouch.referrals",
    "vouch.fraud",
    "vouch.rules",
    "vouch.rewards",
    "vouch.emails",
    "vouch.audit",
    "vouch.webhooks",
    "vouch.portal",
    "vouch.api",
    "vouch.ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "vouch.portal.middleware.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "vouch.urls"
WSGI_APPLICATION = "vouch.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if os.getenv("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "vouch.sqlite3",
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so two writers queue on
                # busy_timeout instead of failing on a read-to-write lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"

EMAIL_BACKEND = os.getenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "outbox"
DEFAULT_FROM_EMAIL = os.getenv("DEFAULT_FROM_EMAIL", "referrals@vouch.localhost")
# The domain of the Message-ID Vouch gives each email (the id tracking events are matched on).
EMAIL_MESSAGE_ID_DOMAIN = os.getenv(
    "EMAIL_MESSAGE_ID_DOMAIN", DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "vouch.localhost"
)
ANYMAIL = {
    "WEBHOOK_SECRET": os.getenv("ANYMAIL_WEBHOOK_SECRET", ""),
    "MAILGUN_WEBHOOK_SIGNING_KEY": os.getenv("MAILGUN_WEBHOOK_SIGNING_KEY", ""),
}

NINJA_PAGINATION_PER_PAGE = 50

LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:home"
SESSION_COOKIE_AGE = envint("SESSION_TIMEOUT_SECONDS", 8 * 3600)
# The idle timeout: a session is saved with a new expiry when its last save is this old
# (vouch.portal.middleware), not on every request.
SESSION_REFRESH_SECONDS = envint("SESSION_REFRESH_SECONDS", 60)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True

WORKER_BATCH_SIZE = envint("WORKER_BATCH_SIZE", 20)
WORKER_LEASE_SECONDS = envint("WORKER_LEASE_SECONDS", 60)
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 10)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.getenv("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
