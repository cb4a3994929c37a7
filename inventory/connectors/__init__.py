"""Connectors read sources and yield plain records; inventory.sync writes them."""

import importlib

MODULES = ["aws", "kubernetes", "vault", "certificates"]


def load_all() -> None:
    """Import every connector module so each registers itself (idempotent)."""
    for name in MODULES:
        try:
            importlib.import_module(f"inventory.connectors.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"inventory.connectors.{name}":
                raise
