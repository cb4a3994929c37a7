"""Settings, all taken from environment variables through strict parsers (nhigov.lib.env).

With DATABASE_URL and REDIS_URL unset the portal runs embedded: SQLite, and Celery tasks
executed in-process. With them set it runs on PostgreSQL (psycopg 3) and Redis.
"""

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from nhigov.lib.env import (
    database_config,
    env_bool,
    env_choices,
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
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "rest_framework",
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
    # CSP on every response; no-store / no-referrer on sensitive pages.
    "nhigov.lib.security_headers.SecurityHeadersMiddleware",
    # Serves collected static files from gunicorn: no separate web server needed.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Logs and audits every 403 and scoped 404 on its way out (nhigov.lib.denials).
    "nhigov.lib.denials.DenialLogMiddleware",
    # Anonymous visitors see only the login page: every view needs a login unless marked.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Idle and absolute session timeouts (nhigov.lib.sessions); needs messages for its notice.
    "nhigov.lib.sessions.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Admins and analysts without a second factor reach only the MFA setup (nhigov.lib.mfa).
    "nhigov.lib.mfa.MFARequiredMiddleware",
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
LOGIN_REDIRECT_URL = "home"  # role-aware landing page (inventory.risk.views_dashboard.home)
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
# Failed sign-ins count per IP and per account in Django's cache: shared through Redis when
# REDIS_URL is set, so every web process sees the same counts. A throttled sign-in gets the
# same 429 page whether or not the account exists.
ACCOUNT_RATE_LIMITS = {
    "login": env_str("NHIGOV_RATE_LOGIN", "30/m/ip"),
    "login_failed": env_str("NHIGOV_RATE_LOGIN_FAILED", "10/m/ip,5/300s/key"),
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
}
# Password reset mails go to known addresses only; the page answers the same either way.
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[nhigov] "
# Tell users by email when a second factor, password or SSO link changes on their account.
ACCOUNT_EMAIL_NOTIFICATIONS = True

# MFA (allauth.mfa): an authenticator app (TOTP), security keys and passkeys (WebAuthn),
# recovery codes. Required for the roles below (empty = for nobody); nhigov.lib.mfa.
NHIGOV_MFA_REQUIRED_ROLES = env_choices(
    "NHIGOV_MFA_REQUIRED_ROLES", ("admin", "analyst", "auditor", "owner"), ["admin", "analyst"]
)
MFA_ADAPTER = "nhigov.lib.mfa.MFAAdapter"
# Key for TOTP seeds at rest; default derived from SECRET_KEY (set this before rotating it).
NHIGOV_MFA_KEY = env_str("NHIGOV_MFA_KEY")
MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
MFA_PASSKEY_LOGIN_ENABLED = env_bool("NHIGOV_MFA_PASSKEY_LOGIN", True)
MFA_TOTP_ISSUER = env_str("NHIGOV_MFA_TOTP_ISSUER", "nhigov")
# Accept the previous and next 30-second code too: clock skew, and a code typed as it turns.
MFA_TOTP_TOLERANCE = 1
# Addresses are entered by admins (no self sign-up, no verification mail), so allauth's
# "verified email first" rule would keep everyone from enrolling.
MFA_ALLOW_UNVERIFIED_EMAIL = True
# Browsers allow WebAuthn on http://localhost only; the embedded demo serves plain http.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

# Single sign-on: allauth's generic OpenID Connect provider from NHIGOV_OIDC_* (off when
# unset). SSO signs in existing users only, matched by a verified email (nhigov.lib.sso).
from nhigov.lib.sso_config import oidc_app_from_env, providers_setting  # noqa: E402

NHIGOV_OIDC_APP = oidc_app_from_env()
SOCIALACCOUNT_PROVIDERS = providers_setting(NHIGOV_OIDC_APP)
SOCIALACCOUNT_ADAPTER = "nhigov.lib.sso.SSOAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # SSOAdapter links by verified email itself
SOCIALACCOUNT_STORE_TOKENS = False  # the IdP's tokens are never kept at rest
SOCIALACCOUNT_LOGIN_ON_GET = False  # a POST starts SSO, so a link cannot sign anyone in
TEMPLATES[0]["OPTIONS"].setdefault("libraries", {})["mfa_tags"] = "nhigov.lib.mfa_tags"

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

# Refusals: each is logged to `nhigov.security`; at most one audit event per user, method
# and page per this many seconds (0 = audit every one).
DENIAL_AUDIT_SECONDS = env_int("DENIAL_AUDIT_SECONDS", 60, minimum=0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Personal API tokens, stored hashed, with read/write scope (nhigov.lib.tokens).
        "nhigov.lib.tokens_auth.ApiTokenAuthentication",
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

# Security: HTTPS, cookies and headers. Served over https (SITE_URL), the portal redirects
# plain http, sends HSTS and marks its cookies Secure. Behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER (e.g. HTTP_X_FORWARDED_PROTO) so Django sees the original scheme,
# or every request would be redirected again. The CSP and the no-store / no-referrer rules
# for sensitive pages are in nhigov.lib.security_headers.
SESSION_COOKIE_HTTPONLY = True
_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG and _HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
CSRF_COOKIE_HTTPONLY = True  # the pages send the token from the form / hx-headers, not JS
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and _HTTPS)
# The container health check asks over plain http from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
_PROXY_HEADER = env_str("SECURE_PROXY_SSL_HEADER")
if _PROXY_HEADER and not _PROXY_HEADER.startswith("HTTP_"):
    raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must name a request.META key such as "
                               "HTTP_X_FORWARDED_PROTO")
SECURE_PROXY_SSL_HEADER = (_PROXY_HEADER, "https") if _PROXY_HEADER else None
# One year by default over https; 0 turns HSTS off (e.g. while trying https out).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _HTTPS and not DEBUG else 0,
                              minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
# The preload directive only consents to inclusion in browsers' preload lists; nothing is
# listed until the domain's owner submits it (hstspreload.org).
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

# Sessions (nhigov.lib.sessions): signed out after this long idle, and this long after
# signing in whatever the activity; the cookie does not outlive the absolute limit.
NHIGOV_SESSION_IDLE_MINUTES = env_int("NHIGOV_SESSION_IDLE_MINUTES", 30, minimum=1)
NHIGOV_SESSION_MAX_HOURS = env_int("NHIGOV_SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = NHIGOV_SESSION_MAX_HOURS * 3600
# Personal API tokens (nhigov.lib.tokens): the longest lifetime a token may be given.
NHIGOV_API_TOKEN_MAX_DAYS = env_int("NHIGOV_API_TOKEN_MAX_DAYS", 90, minimum=1)

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
    # Request paths in 4xx warnings and runserver lines carry owner-link tokens: redacted.
    # CSRF refusals ("Forbidden (...): <path>") are logged by django.security.csrf instead.
    "filters": {"redact_paths": {"()": "nhigov.lib.denials.RedactPathFilter"}},
    "loggers": {name: {"filters": ["redact_paths"]} for name in ("django.request",
                                                                  "django.server",
                                                                  "django.security.csrf")},
}

# Reviews ---------------------------------------------------------------------------------
# Campaigns, owner emails and link rate limits (reviews app; defaults in reviews/conf.py).
# Rate limits count in Django's cache: per process (LocMem) when embedded, shared through
# Redis when REDIS_URL is set, so every web process sees the same counts.
if REDIS_URL:
    # Redis down: each process counts locally instead of failing pages (nhigov.lib.cache);
    # the timeouts bound what a dead Redis costs a request.
    CACHES = {"default": {"BACKEND": "nhigov.lib.cache.FallbackRedisCache",
                          "LOCATION": REDIS_URL, "KEY_PREFIX": "nhigov",
                          "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 2}}}


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
# Re-evaluate a source's identities after each of its sync runs (inventory.risk.hooks).
RISK_EVALUATE_AFTER_SYNC = env_bool("RISK_EVALUATE_AFTER_SYNC", True)
# Alerts: analysts' addresses besides the analyst role's users; webhook and syslog targets
# (syslog as udp://host:port or tcp://host:port); retries with exponential backoff.
RISK_ALERT_EMAILS = env_list("RISK_ALERT_EMAILS", [])
RISK_WEBHOOK_URL = env_url("RISK_WEBHOOK_URL", ("http", "https"))
RISK_SYSLOG_URL = env_url("RISK_SYSLOG_URL", ("udp", "tcp"))
RISK_ALERT_MAX_ATTEMPTS = env_int("RISK_ALERT_MAX_ATTEMPTS", 6, minimum=1)
RISK_ROTATION_WARNING_DAYS = env_int("RISK_ROTATION_WARNING_DAYS", 7, minimum=1)
# The `risk_tags` template library lives in the risk package (not an app of its own).
TEMPLATES[0]["OPTIONS"].setdefault("libraries", {})["risk_tags"] = "inventory.risk.templatetags"

# Audit: signed checkpoints over the hash chain (nhigov.lib.audit_signing). Ed25519 with
# this PEM private key; unset = HMAC derived from SECRET_KEY (not verifiable offline).
AUDIT_SIGNING_KEY_FILE = env_str("AUDIT_SIGNING_KEY_FILE", "")
if AUDIT_SIGNING_KEY_FILE and not Path(AUDIT_SIGNING_KEY_FILE).is_file():
    raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE={AUDIT_SIGNING_KEY_FILE} is not a file")
AUDIT_CHECKPOINT_SECONDS = env_int("AUDIT_CHECKPOINT_SECONDS", 3600, minimum=60)
CELERY_IMPORTS.append("nhigov.lib.audit_tasks")
CELERY_BEAT_SCHEDULE["audit-checkpoint"] = {
    "task": "nhigov.lib.audit_tasks.audit_checkpoint",
    "schedule": float(AUDIT_CHECKPOINT_SECONDS),
    "options": {"expires": float(AUDIT_CHECKPOINT_SECONDS)},
}
AUDIT_PAGE_SIZE = env_int("AUDIT_PAGE_SIZE", 50, minimum=10)
