"""Daily snapshots of the dashboard's numbers, taken by the nightly task, for trends."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from inventory.models.risk import DailySnapshot
from inventory.risk import metrics
from inventory.risk import policy as policies


def take_snapshot(day: dt.date | None = None) -> DailySnapshot:
    """Store (or refresh) the numbers of `day` (today by default)."""
    day = day or timezone.localdate()
    data = metrics.snapshot_metrics(policies.current())
    snapshot, _ = DailySnapshot.objects.update_or_create(
        day=day, defaults={"metrics": data, "taken_at": timezone.now()})
    return snapshot


def trend(days: int = 90) -> list[DailySnapshot]:
    """The snapshots of the last `days` days, oldest first."""
    since = timezone.localdate() - dt.timedelta(days=days)
    return list(DailySnapshot.objects.filter(day__gt=since).order_by("day"))
