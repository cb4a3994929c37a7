"""What each sync run changed: one row per identity created, updated, marked missing or
returned by the run, so a run's counts can be opened as the list of identities behind them.

Written only by `inventory.sync`, in the same transaction as the change itself (COPY on
PostgreSQL), so a rolled-back batch leaves no row and an unchanged re-sync writes none.
"""

from django.db import models


class ChangeKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    MISSING = "missing", "Marked missing"
    RETURNED = "returned", "Returned"


class SyncChange(models.Model):
    """One identity a sync run created, updated, marked missing or brought back.

    An identity that comes back changed has two rows in that run (returned and updated),
    so each kind's rows match the run's count of that kind exactly.
    """

    # No database-level foreign keys: like the audit log, this is a record the sync appends
    # with ids it has just read or written in the same transaction, and a foreign-key check
    # costs about 6 s per million rows and key (measured on PostgreSQL 15), which would make
    # a first import of a large source noticeably slower. Deletes still cascade through
    # Django's collector. The run's lookups use the unique index below, not one of its own.
    run = models.ForeignKey(
        "inventory.SyncRun", on_delete=models.CASCADE, related_name="changes",
        db_constraint=False, db_index=False,
    )
    # An identity's change history is read through this key's index.
    identity = models.ForeignKey(
        "inventory.Identity", on_delete=models.CASCADE, related_name="sync_changes",
        db_constraint=False,
    )
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    # For "updated": the discovered fields that changed ("credentials" when any did);
    # empty for the other kinds.
    fields = models.JSONField(default=list, blank=True)

    class Meta:
        # No default ordering: the register's run filter reads this table as a subquery.
        constraints = [
            # Also the index behind "identities this run <kind>" (run, kind) -> identity.
            models.UniqueConstraint(
                fields=["run", "kind", "identity"], name="syncchange_run_kind_identity_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: identity {self.identity_id} in run {self.run_id}"
