"""Connectors read sources and yield plain records; inventory.sync writes them."""

import importlib
import os

MODULES = ["aws", "kubernetes", "vault", "certificates"]

# Extra connector modules (dotted paths, comma-separated) imported by load_all. Meant for
# test connectors that a separately started Celery worker must know too, and for site
# connectors kept outside this package. Read on every call so tests can set it late.
EXTRA_ENV = "NHIGOV_EXTRA_CONNECTORS"


def load_all() -> None:
    """Import every connector module so each registers itself (idempotent)."""
    for name in MODULES:
        try:
            importlib.import_module(f"inventory.connectors.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"inventory.connectors.{name}":
                raise
    # A listed module that cannot be imported fails loudly: a silently missing connector
    # would turn every run of its sources into a confusing "no connector" failure.
    for dotted in filter(None, (m.strip() for m in os.environ.get(EXTRA_ENV, "").split(","))):
        importlib.import_module(dotted)
