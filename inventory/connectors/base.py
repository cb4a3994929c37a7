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


class ConnectorError(Exception):
    """A source could not be read. The message is shown to analysts as is: say what went
    wrong and what to check, and never include a secret."""

    kind = "error"


class Unreachable(ConnectorError):
    kind = "unreachable"


class AccessDenied(ConnectorError):
    kind = "access_denied"


class BadConfig(ConnectorError):
    kind = "bad_config"


@dataclass
class CheckResult:
    """What "Test connection" reports: who we are at the source and what we can see."""

    ok: bool
    summary: str
    details: dict = field(default_factory=dict)
    error_kind: str = ""


@dataclass
class Param:
    """One non-secret configuration parameter a connector accepts."""

    name: str
    help: str
    required: bool = False
    default: object = None


class Connector:
    """Base class. Subclasses declare `name`, `params` and `auth` (how credentials reach
    the connector: environment variables, mounted files or workload identity — never the
    database), and implement `check` and `read`. Connectors only read; SDK imports stay
    inside methods so the web process does not load every SDK."""

    name: str = ""
    title: str = ""
    params: list[Param] = []
    auth: str = ""

    def __init__(self, config: dict):
        self.config = self.validate(config or {})

    @classmethod
    def validate(cls, config: dict) -> dict:
        """Check required and unknown parameters; raise BadConfig with every problem."""
        known = {p.name: p for p in cls.params}
        problems = [f"unknown parameter {k!r}" for k in config if k not in known]
        problems += [f"{p.name!r} is required" for p in cls.params
                     if p.required and config.get(p.name) in (None, "", [])]
        if problems:
            raise BadConfig(f"{cls.title or cls.name}: " + "; ".join(problems))
        return {p.name: config.get(p.name, p.default) for p in cls.params}

    def check(self) -> CheckResult:
        raise NotImplementedError

    def read(self) -> Iterator[IdentityRecord]:
        raise NotImplementedError


REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    REGISTRY[cls.name] = cls
    return cls


def connector_for(kind: str, config: dict) -> Connector:
    """The connector for a source kind, configured; raises BadConfig for unknown kinds."""
    from inventory.connectors import load_all

    load_all()
    if kind not in REGISTRY:
        raise BadConfig(f"No connector for source kind {kind!r}")
    return REGISTRY[kind](config)
