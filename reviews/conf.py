"""Review settings with their defaults (nhigov.settings sets them from the environment)."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    "REVIEWS_DUE_DAYS": 21,
    "REVIEWS_REMINDER_DAYS": [7, 2],
    "REVIEWS_REVIEW_INTERVAL_DAYS": 90,
    "REVIEWS_OUTCOME_RULE": "all_confirm",
    "REVIEWS_SCHEDULE_MONTHS": [1, 4, 7, 10],
    "REVIEWS_SCHEDULED_SCOPE": "",
    "REVIEWS_SECURITY_EMAIL": "security@localhost",
    "REVIEWS_ESCALATE_AFTER_DAYS": 0,
    "REVIEWS_MAIL_BATCH": 500,
    "REVIEWS_MAIL_MAX_ATTEMPTS": 5,
    "REVIEWS_MAIL_STALE_SECONDS": 900,
    "REVIEWS_LINK_WINDOW_SECONDS": 600,
    "REVIEWS_LINK_LIMIT_PER_IP": 120,
    "REVIEWS_LINK_LIMIT_PER_TOKEN": 30,
    "REVIEWS_LINK_BAD_LIMIT_PER_IP": 20,
}


def get(name: str):
    return getattr(settings, name, DEFAULTS[name])
