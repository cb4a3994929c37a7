"""The one Celery app. Tasks run in-process when REDIS_URL is unset (embedded default)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nhigov.settings")

app = Celery("nhigov")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
