"""Register models: sources, sync runs, environments, identities and credentials."""

from .identity import Credential, Environment, Identity
from .source import Source, SyncRun

__all__ = ["Credential", "Environment", "Identity", "Source", "SyncRun"]
