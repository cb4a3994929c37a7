"""Records from secrets' metadata for the Kubernetes connector: legacy service account
token secrets as credentials, and cert-manager's marks on TLS secrets. Token secrets are
read as metadata only: their `data` (the token) is never requested, and the API layer
drops it should a server send it anyway."""

from __future__ import annotations

from collections import defaultdict

from inventory.connectors.base import CredentialRecord
from inventory.connectors.kubernetes_meta import day, iso, meta, require, str_map, timestamp

TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 (a type name)
TLS_TYPE = "kubernetes.io/tls"
SA_NAME, SA_UID = "kubernetes.io/service-account.name", "kubernetes.io/service-account.uid"
# Set by the LegacyServiceAccountTokenTracking / CleanUp controllers (Kubernetes 1.26+).
LAST_USED, INVALID_SINCE = ("kubernetes.io/legacy-token-last-used",
                            "kubernetes.io/legacy-token-invalid-since")


def token_credential(secret: dict, index: int, sa_uid: str) -> CredentialRecord:
    """A legacy token secret, from metadata only: never its `data.token`."""
    ns, name = require(secret, "token secret", index, "namespace", "name")
    m, label = meta(secret), f"token secret {ns}/{name}"
    labels, annotations = str_map(m.get("labels")), str_map(m.get("annotations"))
    bound_uid = annotations.get(SA_UID, "")
    # A token minted for an earlier account of the same name: the API server rejects it.
    stale = bool(bound_uid) and bound_uid != sa_uid
    invalid_since = day(labels.get(INVALID_SINCE))
    return CredentialRecord(
        kind="token_secret", external_id=str(m.get("uid") or f"{ns}/{name}"),
        created_at_source=timestamp(m.get("creationTimestamp"), label),
        last_used_at=day(labels.get(LAST_USED)),
        status="inactive" if stale or invalid_since else "active",
        attributes={"namespace": ns, "name": name, "type": TOKEN_TYPE,
                    "service_account_uid": bound_uid, "stale_uid": stale,
                    "invalid_since": iso(invalid_since)})


def by_service_account(tokens: list[dict]) -> dict[tuple[str, str], list[dict]]:
    """Token secrets by the (namespace, name) of the account they belong to. A token
    secret of a deleted account is skipped: the API server no longer accepts it."""
    found: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for secret in tokens:
        if secret.get("type", TOKEN_TYPE) != TOKEN_TYPE:
            continue  # a server that ignored the field selector; not a token secret
        m = meta(secret)
        owner = str_map(m.get("annotations")).get(SA_NAME)
        if owner and m.get("namespace"):
            found[(m["namespace"], owner)].append(secret)
    return found


def cert_manager(annotations: dict[str, str]) -> dict:
    """Whether cert-manager issues (and renews) the certificate, from its annotations."""
    if "cert-manager.io/certificate-name" not in annotations:
        return {"managed_by": "", "auto_renew": False}
    return {"managed_by": "cert-manager", "auto_renew": True,
            "cert_manager": {k.removeprefix("cert-manager.io/"): v
                             for k, v in annotations.items()
                             if k.startswith("cert-manager.io/")}}
