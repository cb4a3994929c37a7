"""Discovery sources and the record of each sync run."""

import uuid

from django.db import models

from inventory.choices import SourceKind, SyncStatus


class Source(models.Model):
    """A configured discovery source. Config is non-secret: credentials come from the
    environment, mounted files or workload identity, never from this table."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=SourceKind.choices, db_index=True)
    config = models.JSONField(default=dict, blank=True)
    schedule = models.CharField(
        max_length=100, blank=True, help_text="Cron expression, e.g. '0 * * * *'; empty = manual."
    )
    enabled = models.BooleanField(default=True)
    missing_threshold = models.FloatField(
        default=0.2, help_text="Share of the source that may go missing before a run is held."
    )
    # When the scheduled run is next due; claimed by the dispatcher with an optimistic
    # UPDATE so overlapping dispatches queue it once. NULL = not planned yet (new source or
    # new schedule): the dispatcher plans it from the last run (inventory.discovery).
    next_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SyncRun(models.Model):
    """One discovery run of a source, with its counts and errors."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(
        max_length=12, choices=SyncStatus.choices, default=SyncStatus.RUNNING, db_index=True
    )
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seen = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    returned = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    triggered_by = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["source", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.source} @ {self.started_at:%Y-%m-%d %H:%M} ({self.status})"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None
