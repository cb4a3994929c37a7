"""Settings, all taken from environment variables through strict parsers (nhigov.lib.env).

With DATABASE_URL and REDIS_URL unset the portal runs embedded: SQLite, and Celery tasks
executed in-process. With them set it runs on PostgreSQL (psycopg 3) and Redis.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from nhigov.lib.env import (
    database_config,
    env_bool,
    env_int,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)
_PLACEHOLDER_KEY = "insecure-dev-key-change-me"
SECRET_KEY = env_str("SECRET_KEY", _PLACEHOLDER_KEY)
if not DEBUG and (SECRET_KEY == _PLACEHOLDER_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 32 characters when DEBUG is off "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
SITE_URL = env_url("SITE_URL", ("http", "https"), "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = [SITE_URL]

INSTALLED_APPS = [
    "nhigov.admin_site.NhigovAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "nhigov",
    "ownership",
    "inventory",
    "reviews",
]

MIDDLEWARE = [
    "nhigov.lib.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from gunicorn: no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Anonymous visitors see only the login page: every view needs a login unless marked.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "nhigov.urls"
WSGI_APPLICATION = "nhigov.wsgi.application"

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
                "nhigov.lib.roles.role_context",
            ],
        },
    },
]

DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
DATABASES = {"default": database_config(DATABASE_URL, BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_url("REDIS_URL", ("redis", "rediss", "unix"))

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: email + password, no self sign-up (accounts are created by admins).
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_ADAPTER = "nhigov.lib.accounts.NoSignupAdapter"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_PREVENT_ENUMERATION = True
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "inventory:identity_list"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# Mail: Django's SMTP backend configured by environment.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL are mutually exclusive")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "nhigov <nhigov@localhost>")

# Celery: Redis when configured, otherwise tasks run in-process (embedded default).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
# Redis redelivers a task unacknowledged for this long (acks_late): keep it above the
# longest sync, or a slow run is started a second time (that one waits on the lock).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT",
                                                                 3600, minimum=1)}
# Beat's table: each entry's interval is overridable by environment.
_DISPATCH_SECONDS = env_int("NHIGOV_DISPATCH_SECONDS", 60, minimum=1)
CELERY_BEAT_SCHEDULE: dict = {
    # Queues every source whose cron schedule is due (inventory.tasks); a dispatch left
    # queued past the next one is dropped rather than piling up while workers are down.
    "dispatch-due-syncs": {
        "task": "inventory.tasks.dispatch_due_syncs",
        "schedule": float(_DISPATCH_SECONDS),
        "options": {"expires": float(_DISPATCH_SECONDS)},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["nhigov.lib.api_permissions.RolePermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "nhigov.lib.api_pagination.CodeCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/min"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "nhigov API",
    "DESCRIPTION": "Register of non-human identities: identities, credentials, owners, sources.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and Redoc served from our own static files (drf-spectacular-sidecar): no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

SESSION_COOKIE_HTTPONLY = True
_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG and _HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Discovery and import: identities written per transaction, how often an unchanged row's
# last_seen_at is refreshed (0 = never), and the largest import file accepted.
SYNC_BATCH_SIZE = env_int("SYNC_BATCH_SIZE", 2000, minimum=1)
SYNC_LAST_SEEN_REFRESH_HOURS = env_int("SYNC_LAST_SEEN_REFRESH_HOURS", 24, minimum=0)
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)

# Register list: rows per page and the cap for bounded counts on filtered pages.
REGISTER_PAGE_SIZE = env_int("REGISTER_PAGE_SIZE", 50, minimum=10)
REGISTER_COUNT_CAP = env_int("REGISTER_COUNT_CAP", 10000, minimum=100)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# Reviews ---------------------------------------------------------------------------------
# Campaigns, owner emails and link rate limits (reviews app; defaults in reviews/conf.py).
# Rate limits count in Django's cache: per process (LocMem) when embedded, shared through
# Redis when REDIS_URL is set, so every web process sees the same counts.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "nhigov"}}


def _int_list(name: str, default: list[str]) -> list[int]:
    values = env_list(name, default)
    if not all(v.isdigit() for v in values):
        raise ImproperlyConfigured(f"{name} must be a comma-separated list of whole numbers")
    return [int(v) for v in values]


REVIEWS_DUE_DAYS = env_int("REVIEWS_DUE_DAYS", 21, minimum=1)
REVIEWS_REMINDER_DAYS = _int_list("REVIEWS_REMINDER_DAYS", ["7", "2"])
REVIEWS_REVIEW_INTERVAL_DAYS = env_int("REVIEWS_REVIEW_INTERVAL_DAYS", 90, minimum=1)
REVIEWS_OUTCOME_RULE = env_str("REVIEWS_OUTCOME_RULE", "all_confirm")
if REVIEWS_OUTCOME_RULE not in ("all_confirm", "any_confirm"):
    raise ImproperlyConfigured("REVIEWS_OUTCOME_RULE must be all_confirm or any_confirm")
# Months a scheduled campaign opens in (quarterly by default); empty turns schedules off.
REVIEWS_SCHEDULE_MONTHS = _int_list("REVIEWS_SCHEDULE_MONTHS", ["1", "4", "7", "10"])
if any(not 1 <= m <= 12 for m in REVIEWS_SCHEDULE_MONTHS):
    raise ImproperlyConfigured("REVIEWS_SCHEDULE_MONTHS must list months 1 to 12")
REVIEWS_SCHEDULED_SCOPE = env_str("REVIEWS_SCHEDULED_SCOPE", "")
REVIEWS_SECURITY_EMAIL = env_str("REVIEWS_SECURITY_EMAIL", "security@localhost")
REVIEWS_ESCALATE_AFTER_DAYS = env_int("REVIEWS_ESCALATE_AFTER_DAYS", 0, minimum=0)
REVIEWS_MAIL_MAX_ATTEMPTS = env_int("REVIEWS_MAIL_MAX_ATTEMPTS", 5, minimum=1)
REVIEWS_LINK_LIMIT_PER_IP = env_int("REVIEWS_LINK_LIMIT_PER_IP", 120, minimum=1)
REVIEWS_LINK_LIMIT_PER_TOKEN = env_int("REVIEWS_LINK_LIMIT_PER_TOKEN", 30, minimum=1)
REVIEWS_LINK_BAD_LIMIT_PER_IP = env_int("REVIEWS_LINK_BAD_LIMIT_PER_IP", 20, minimum=1)
_REVIEW_MAIL_SECONDS = env_int("NHIGOV_REVIEW_MAIL_SECONDS", 300, minimum=10)
_REVIEW_HOURLY_SECONDS = env_int("NHIGOV_REVIEW_SCHEDULE_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE.update({
    "reviews-open-scheduled": {
        "task": "reviews.tasks.open_scheduled_campaign",
        "schedule": float(_REVIEW_HOURLY_SECONDS),
        "options": {"expires": float(_REVIEW_HOURLY_SECONDS)},
    },
    # Reminders, escalations, sends and retries; overlapping runs send each email once.
    "reviews-mail": {
        "task": "reviews.tasks.review_mail_cycle",
        "schedule": float(_REVIEW_MAIL_SECONDS),
        "options": {"expires": float(_REVIEW_MAIL_SECONDS)},
    },
    "reviews-resolve-remediations": {
        "task": "reviews.tasks.resolve_remediations",
        "schedule": float(_REVIEW_HOURLY_SECONDS),
        "options": {"expires": float(_REVIEW_HOURLY_SECONDS)},
    },
})

# Risk: the nightly evaluation (findings, classification, scores, snapshot, alerts) and
# alert delivery with retries. Tasks live in inventory.risk.tasks.
from celery.schedules import crontab  # noqa: E402

CELERY_IMPORTS = ["inventory.risk.tasks"]
_RISK_ALERT_SECONDS = env_int("NHIGOV_RISK_ALERT_SECONDS", 300, minimum=10)
CELERY_BEAT_SCHEDULE.update({
    "risk-nightly": {
        "task": "inventory.risk.tasks.nightly_risk",
        "schedule": crontab(hour=env_int("NHIGOV_RISK_NIGHTLY_HOUR", 2, minimum=0),
                            minute=env_int("NHIGOV_RISK_NIGHTLY_MINUTE", 30, minimum=0)),
        "options": {"expires": 6 * 3600.0},
    },
    "risk-deliver-alerts": {
        "task": "inventory.risk.tasks.deliver_alerts",
        "schedule": float(_RISK_ALERT_SECONDS),
        "options": {"expires": float(_RISK_ALERT_SECONDS)},
    },
})
# PostgreSQL work_mem for the evaluation's transaction (hash joins over the register).
RISK_WORK_MEM = env_str("RISK_WORK_MEM", "256MB")
# Re-evaluate an identity when an analyst edits it (inventory.risk.hooks).
RISK_EVALUATE_ON_SAVE = env_bool("RISK_EVALUATE_ON_SAVE", True)
# Alerts: analysts' addresses besides the analyst role's users; webhook and syslog targets
# (syslog as udp://host:port or tcp://host:port); retries with exponential backoff.
RISK_ALERT_EMAILS = env_list("RISK_ALERT_EMAILS", [])
RISK_WEBHOOK_URL = env_url("RISK_WEBHOOK_URL", ("http", "https"))
RISK_SYSLOG_URL = env_url("RISK_SYSLOG_URL", ("udp", "tcp"))
RISK_ALERT_MAX_ATTEMPTS = env_int("RISK_ALERT_MAX_ATTEMPTS", 6, minimum=1)
RISK_ROTATION_WARNING_DAYS = env_int("RISK_ROTATION_WARNING_DAYS", 7, minimum=1)
# The `risk_tags` template library lives in the risk package (not an app of its own).
TEMPLATES[0]["OPTIONS"].setdefault("libraries", {})["risk_tags"] = "inventory.risk.templatetags"
