"""Rules for a discovery source's settings, shared by the API serializer and the pages.

* **No secrets in config**: keys that name a secret value, and values that are plainly
  secrets (PEM private keys, Vault/GitHub tokens, JWTs), are refused. A key ending in a
  reference suffix (`token_file`, `password_env`, `role_arn`) names *where* a secret
  lives, which is what config is for.
* **Schedules** are standard five-field cron expressions (minute hour day-of-month month
  day-of-week), evaluated in `settings.TIME_ZONE` by Celery's `crontab`. Celery's own
  positional order differs (day-of-week third), so fields are always passed by name.
* **Audited saves**: every create and update of a source is recorded with before/after
  in the same transaction as the change.
"""

from __future__ import annotations

import re
from datetime import datetime

from celery.schedules import crontab
from django.conf import settings
from django.db import transaction

from inventory.choices import SourceKind
from inventory.connectors.base import BadConfig, Connector
from inventory.models import Source
from nhigov.lib.audit import Actor, Change, record

# --- secrets in config -------------------------------------------------------------------

# Config key words that name a secret value. A key ending in a reference suffix names
# where the secret lives (a file, an environment variable, an ARN), which is allowed.
_SECRET_WORDS = {
    "password", "passwd", "pwd", "passphrase", "secret", "token", "key", "apikey",
    "credential", "credentials", "privatekey", "cookie",
}
_REFERENCE_SUFFIXES = {
    "file", "path", "env", "var", "arn", "id", "name", "url", "ttl", "mount", "role",
    "profile",  # AWS credentials_profile names a profile in a mounted ~/.aws
}
# Values that are unmistakably secrets whatever the key is called.
_SECRET_VALUES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----"  # PEM private key
    r"|^hv[sbr]\.[A-Za-z0-9_-]{20,}"  # Vault/OpenBao token
    r"|^(ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}"  # GitHub token
    r"|^eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"  # JWT
)

CREDENTIALS_ADVICE = (
    "Source credentials are never stored in the database: provide them through the "
    "environment, a mounted file or workload identity, and name that here instead "
    "(e.g. 'token_file' or 'password_env')."
)


def _key_words(key: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key)  # camelCase -> camel_Case
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _secret_like_key(key: str) -> bool:
    words = _key_words(key)
    if not words or words[-1] in _REFERENCE_SUFFIXES:
        return False
    joined = "".join(words)
    return any(w in _SECRET_WORDS for w in words) or any(
        s in joined for s in ("password", "passphrase", "apikey", "privatekey")
    )


def secret_like_config(config, prefix: str = "") -> list[str]:
    """Paths of config entries that look like secret values (by key name or by value).
    Booleans and numbers pass (a flag is no secret); nested objects are searched."""
    if isinstance(config, dict):
        found: list[str] = []
        for key, value in config.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict | list):
                found += secret_like_config(value, f"{path}.")
            elif isinstance(value, str) and value.strip() and _secret_like_key(str(key)):
                found.append(path)
            else:
                found += secret_like_config(value, path)
        return found
    if isinstance(config, list):
        return [p for i, v in enumerate(config) for p in secret_like_config(v, f"{prefix}{i}.")]
    if isinstance(config, str) and _SECRET_VALUES.search(config.strip()):
        return [prefix.rstrip(".") or "(value)"]
    return []


# --- connectors --------------------------------------------------------------------------


def connector_class(kind: str) -> type[Connector] | None:
    """The registered connector class for a source kind, or None (e.g. file sources)."""
    from inventory.connectors import load_all
    from inventory.connectors.base import REGISTRY

    load_all()
    return REGISTRY.get(kind)


def connector_choices() -> list[tuple[str, str]]:
    """(kind, label) of the kinds a source can be configured for: the source kinds the
    model knows that have a connector. File sources are created by imports instead."""
    from inventory.connectors import load_all
    from inventory.connectors.base import REGISTRY

    load_all()
    return [(kind, label) for kind, label in SourceKind.choices if kind in REGISTRY]


def config_problems(kind: str, config: dict) -> list[str]:
    """Why `config` cannot be used for a `kind` source; empty when it can."""
    found = secret_like_config(config)
    if found:
        return [f"These entries look like secrets: {', '.join(found)}. {CREDENTIALS_ADVICE}"]
    cls = connector_class(kind)
    if cls is None:
        return [f"No connector can read sources of kind {kind!r}."]
    try:
        cls.validate(dict(config))
    except BadConfig as exc:
        return [str(exc)]
    return []


# --- schedules ---------------------------------------------------------------------------

_CRON_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
_CRON_LABELS = ("minute", "hour", "day of month", "month", "day of week")


def clean_schedule(value: str) -> str:
    """Normalise a cron expression (single spaces); "" means manual runs only.

    Raises ValueError with a message naming the faulty field."""
    value = " ".join((value or "").split())
    if not value:
        return ""
    parts = value.split(" ")
    if len(parts) != 5:
        raise ValueError(
            f"A schedule has five cron fields (minute hour day-of-month month day-of-week), "
            f"e.g. '0 * * * *'; {value!r} has {len(parts)}.")
    for name, label, part in zip(_CRON_FIELDS, _CRON_LABELS, parts, strict=True):
        try:
            crontab(**{name: part})
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(f"The {label} field {part!r} is not valid: {exc}") from None
    try:
        schedule_crontab(value)
    except (ValueError, TypeError) as exc:  # e.g. day 31 in February only
        raise ValueError(f"The schedule never fires: {exc}") from None
    return value


def schedule_crontab(value: str) -> crontab:
    """Celery's crontab for a (valid) five-field cron expression."""
    return crontab(**dict(zip(_CRON_FIELDS, value.split(), strict=True)))


def next_fire(schedule: str, after: datetime) -> datetime:
    """The first time strictly after `after` (to the minute) that `schedule` fires."""
    start, delta, _now = schedule_crontab(schedule).remaining_delta(
        after, tz=settings.TIME_ZONE)
    return start + delta


# --- audited saves -----------------------------------------------------------------------

AUDIT_FIELDS = ["name", "kind", "config", "schedule", "enabled", "missing_threshold"]


def snapshot(source: Source) -> dict:
    """The audited fields of a source, as the audit log records them (same as the API)."""
    return {name: getattr(source, name) for name in AUDIT_FIELDS}


def save_source(source: Source, before: dict | None, actor: Actor, reason: str = "") -> list[str]:
    """Save `source` and record `source.create` or `source.update` in one transaction.

    `before` is the snapshot taken before the form or request changed the instance (None
    when creating). Returns the names of the fields that changed; an update that changes
    nothing writes nothing. A new schedule forgets the planned next run, so the
    dispatcher re-plans it from the last run under the new schedule."""
    after = snapshot(source)
    changed = [f for f in AUDIT_FIELDS if before is None or before[f] != after[f]]
    if before is not None and not changed:
        return []
    if before is not None and "schedule" in changed:
        source.next_run_at = None
    with transaction.atomic():
        source.save()
        if before is None:
            change = Change("source.create", "source", source.code, source.name, {}, after)
        else:
            change = Change("source.update", "source", source.code, source.name,
                            {f: before[f] for f in changed}, {f: after[f] for f in changed})
        record(actor, change, reason)
    return changed
