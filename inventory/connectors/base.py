"""Plain records that connectors (and the file importer) yield, and the connector registry.

Records carry discovered, non-secret facts only. `inventory.sync` is the one place that
turns them into rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class CredentialRecord:
    """A credential as the source reports it: native id and metadata, never the secret."""

    kind: str
    external_id: str
    fingerprint: str = ""
    created_at_source: datetime | None = None
    last_used_at: datetime | None = None
    expires_at: datetime | None = None
    status: str = "active"
    key_algorithm: str = ""
    key_size: int | None = None
    attributes: dict = field(default_factory=dict)


@dataclass
class IdentityRecord:
    """An identity as the source reports it. `owner_hints` holds what the source suggests
    about owners, team, purpose and zone (tags, labels, custom metadata); sync fills empty
    fields from them and never overwrites what people set."""

    external_id: str
    provider: str
    kind: str
    name: str
    path: str = ""
    environment: str = ""  # environment slug
    privilege: str = "unknown"
    permissions_summary: str = ""
    interactive_login: bool = False
    auth_method: str = "unknown"
    created_at_source: datetime | None = None
    last_used_at: datetime | None = None
    last_rotated_at: datetime | None = None
    expires_at: datetime | None = None
    status: str = "active"
    tags: list = field(default_factory=list)
    attributes: dict = field(default_factory=dict)
    owner_hints: dict = field(default_factory=dict)
    credentials: list[CredentialRecord] = field(default_factory=list)


class Connector:
    """Base class: subclasses declare `name`, `params` and `auth`, and implement `read`."""

    name: str = ""
    params: dict[str, str] = {}
    auth: str = ""

    def __init__(self, config: dict):
        self.config = config

    def read(self) -> Iterator[IdentityRecord]:
        raise NotImplementedError


REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    REGISTRY[cls.name] = cls
    return cls
