"""Register models: sources, sync runs and their changes, environments, identities and
credentials."""

from .identity import Credential, Environment, Identity
from .risk import (
    AlertDelivery,
    DailySnapshot,
    Finding,
    IdentityRisk,
    LeakReport,
    PolicyVersion,
    RiskRun,
)
from .source import Source, SyncRun
from .sync_change import ChangeKind, SyncChange

__all__ = [
    "ChangeKind", "Credential", "Environment", "Identity", "Source", "SyncChange", "SyncRun",
    "AlertDelivery", "DailySnapshot", "Finding", "IdentityRisk", "LeakReport", "PolicyVersion",
    "RiskRun",
]
