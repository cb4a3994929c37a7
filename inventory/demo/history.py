"""The demo's trend history: 90 days of daily snapshots leading up to today's real one, so
the dashboard's trend charts have a story to tell on a fresh demo (a real install builds
its history one nightly snapshot at a time).

The past is derived from today's measured numbers: the register grew by about a fifth over
the quarter while the problems (no owner, unrotated keys, dormant, high-risk, open findings)
were being worked down from about a third higher. Deterministic: the same day always gets
the same numbers. Every backfilled snapshot is marked `"demo_backfill": true`; days that
already have a snapshot are left alone, so running the demo again changes nothing."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from inventory.models.risk import DailySnapshot
from inventory.risk.snapshots import take_snapshot

DAYS = 90
# How much higher (positive) or lower (negative) a count stood DAYS ago than today.
GROWTH = {"total": -0.18, "active": -0.15}
PROBLEM_DRIFT = 0.35


def backfill_trend(today: dt.date | None = None, days: int = DAYS) -> int:
    """Take today's snapshot, then fill the `days - 1` days before it; returns how many
    snapshots were created."""
    today = today or timezone.localdate()
    current = take_snapshot(today).metrics
    existing = set(DailySnapshot.objects.filter(
        day__gte=today - dt.timedelta(days=days - 1)).values_list("day", flat=True))
    created = []
    for age in range(1, days):
        day = today - dt.timedelta(days=age)
        if day in existing:
            continue
        metrics = _aged(current, age / (days - 1), random.Random(day.toordinal()))  # noqa: S311 - demo data
        taken = dt.datetime.combine(day, dt.time(2, 30), tzinfo=dt.UTC)
        created.append(DailySnapshot(day=day, metrics=metrics, taken_at=taken))
    DailySnapshot.objects.bulk_create(created)
    return len(created)


def _aged(current: dict, share: float, rng: random.Random) -> dict:
    """Today's numbers as they might have stood `share` of the way back (0 = today)."""
    def scale(key: str, value: int) -> int:
        drift = GROWTH.get(key, PROBLEM_DRIFT)
        noise = 1 + rng.uniform(-0.02, 0.02) if value else 1
        return max(0, round(value * (1 + drift * share) * noise))

    aged = {group: {key: scale(key, value) for key, value in numbers.items()}
            for group, numbers in current.items() if isinstance(numbers, dict)}
    aged["demo_backfill"] = True
    return aged
