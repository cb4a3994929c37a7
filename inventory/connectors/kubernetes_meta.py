"""Object metadata for the Kubernetes connector: owner hints and environments from labels
and annotations, timestamps, and the checks that make a malformed object fail loudly.

Where hints come from, first match wins: the object's annotations, its labels, then its
namespace's annotations and labels (namespace-per-team clusters keep owners there).
Label values cannot hold an e-mail address, so owner e-mails usually sit in annotations.

Environment: an explicit `environment`/`env` label (object, then namespace) or the
configured `environment` becomes the record's environment, which the sync treats as
authoritative. A guess from names (`payments-prod`, a `staging` namespace, a `prod-eu`
cluster) only goes into `owner_hints["environment"]`, which fills an empty field and
never overrides what people set. Common aliases map to one slug (prod/prd -> production).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from inventory.connectors.base import ConnectorError

# hint key -> label/annotation keys, in order of preference
HINT_KEYS: dict[str, tuple[str, ...]] = {
    "technical_owner": ("nhigov.io/technical-owner", "technical-owner"),
    "owner": ("nhigov.io/owner", "owner", "maintainer", "contact"),
    "business_owner": ("nhigov.io/business-owner", "business-owner"),
    "backup_owner": ("nhigov.io/backup-owner", "backup-owner"),
    "team": ("nhigov.io/team", "team", "owner-team"),
    "purpose": ("nhigov.io/purpose", "purpose", "kubernetes.io/description", "description"),
    "zone": ("nhigov.io/zone", "zone"),
    "change_ticket": ("nhigov.io/change-ticket", "change-ticket"),
    "managed_by": ("app.kubernetes.io/managed-by",),
}
ENV_KEYS = ("nhigov.io/environment", "environment", "env", "app.kubernetes.io/environment")
WORKLOAD_KEYS = ("app.kubernetes.io/name", "app")
ENV_ALIASES = {
    "production": "production", "prod": "production", "prd": "production",
    "staging": "staging", "stage": "staging", "stg": "staging",
    "development": "development", "dev": "development", "develop": "development",
    "test": "test", "testing": "test", "qa": "qa", "uat": "uat", "sandbox": "sandbox",
}
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
# Cloud workload identity annotations: the SA federates to a cloud identity.
FEDERATION_KEYS = {
    "eks.amazonaws.com/role-arn": "aws",
    "iam.gke.io/gcp-service-account": "gcp",
    "azure.workload.identity/client-id": "azure",
}


def meta(obj: dict) -> dict:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


def str_map(value) -> dict[str, str]:
    """Labels/annotations as a clean str->str dict (the API guarantees it; be safe)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()
            if k != "kubectl.kubernetes.io/last-applied-configuration"}


def require(obj: dict, what: str, index: int, *keys: str) -> list[str]:
    """The given metadata fields, or a ConnectorError naming the object."""
    m = meta(obj)
    missing = [k for k in keys if not isinstance(m.get(k), str) or not m.get(k)]
    if missing:
        name = "/".join(str(m.get(k)) for k in ("namespace", "name") if m.get(k)) or \
            f"item #{index + 1}"
        raise ConnectorError(f"Kubernetes API returned a malformed {what} ({name}): "
                             f"metadata.{', metadata.'.join(missing)} missing.")
    return [m[k] for k in keys]


def timestamp(value, what: str) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime; ConnectorError naming `what` if bad."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConnectorError(f"Kubernetes API returned a malformed timestamp {value!r} for "
                             f"{what}.") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def day(value: str | None) -> datetime | None:
    """A YYYY-MM-DD label (legacy token tracking) as midnight UTC; None if absent/odd."""
    try:
        d = date.fromisoformat(value or "")
    except ValueError:
        return None
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def env_slug(value: str) -> str:
    value = (value or "").strip().lower()
    return ENV_ALIASES.get(value, value)


def _first(maps: list[dict[str, str]], keys: tuple[str, ...]) -> str:
    for values in maps:
        for key in keys:
            if values.get(key, "").strip():
                return values[key].strip()
    return ""


def owner_hints(obj: dict, namespace: dict | None) -> dict[str, str]:
    """Owner, team, purpose, zone... hints from the object's and its namespace's metadata."""
    maps = _maps(obj, namespace)
    hints = {key: value for key, keys in HINT_KEYS.items() if (value := _first(maps, keys))}
    app = _first(maps[:2], WORKLOAD_KEYS)  # the workload is the object's own app, not the ns
    if app:
        hints["workload"] = f"{meta(obj).get('namespace', '')}/{app}".lstrip("/")
    return hints


def _maps(obj: dict, namespace: dict | None) -> list[dict[str, str]]:
    ns_meta = meta(namespace or {})
    return [str_map(meta(obj).get("annotations")), str_map(meta(obj).get("labels")),
            str_map(ns_meta.get("annotations")), str_map(ns_meta.get("labels"))]


def environment(obj: dict, namespace: dict | None, configured: str) -> str:
    """The explicit environment: a label/annotation, else the configured one."""
    return env_slug(_first(_maps(obj, namespace), ENV_KEYS) or configured or "")


def guessed_environment(namespace_name: str, cluster_name: str) -> str:
    """An environment guessed from the namespace name, then the cluster name."""
    for name in (namespace_name, cluster_name):
        for token in re.split(r"[-_.]", (name or "").lower()):
            if token in ENV_ALIASES:
                return ENV_ALIASES[token]
    return ""


def federation(annotations: dict[str, str]) -> list[dict[str, str]]:
    """Cloud identities the service account is federated to (IRSA, GKE/Azure WI)."""
    return [{"cloud": cloud, "identity": annotations[key]}
            for key, cloud in FEDERATION_KEYS.items() if annotations.get(key)]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
