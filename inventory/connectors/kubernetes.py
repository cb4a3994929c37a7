"""Kubernetes connector: the service accounts of one cluster, with their legacy token
secrets and RBAC privilege, and its TLS secrets as certificates.

Decisions:

* **Stable key.** A service account's `external_id` is `<cluster_name>/<namespace>/<name>`;
  its UID is kept in `attributes.uid`. Everything that gives a service account meaning
  refers to it by namespace and name: RoleBindings, pods' `serviceAccountName`, Vault's
  Kubernetes auth roles, cloud federation trust. An account deleted and recreated (GitOps
  re-syncs, namespace rebuilds) gets a new UID but the same bindings and workload, so it
  is the same identity to govern: owners, attestations and history carry over. A UID
  change still shows (the attribute changes), and token secrets bound to an earlier UID
  are reported as inactive (the API server rejects them). TLS secrets are keyed the same
  way; the certificate inside (renewed in place by cert-manager) is the credential, keyed
  by its SHA-256 fingerprint.
* **No secret values.** Token secrets are listed with a `type=` field selector and a
  metadata-only Accept header, so token values do not even cross the wire; TLS secrets
  must be read in full for `tls.crt`, and `KubeApi` drops everything else (`tls.key`, the
  kubectl last-applied annotation that copies it) page by page, before this module sees
  them. Opaque and other secrets are never requested.
* **No bindings** gives privilege "read" when every binding of the cluster was read, and
  "unknown" when the `namespaces` restriction hid RoleBindings elsewhere that may name
  the account (see `kubernetes_rbac.assess`).
* **Failures.** Every list is read in full (all pages) before anything is yielded; any
  error, including a 403 on a later page, fails the run: a partial snapshot would make the
  sync mark real accounts missing. An API object without its identifying metadata or with
  a malformed timestamp fails the run with a ConnectorError naming it ("bad input loses
  nothing"). A TLS secret whose `tls.crt` cannot be parsed is user data, not an API
  defect: it is still yielded, with `attributes.parse_error`, so it shows in the register.
* **The discovery account** needs `list` on secrets cluster-wide (RBAC cannot grant a
  metadata-only read, and `tls.crt` is in the data), so the register will rightly show
  it as admin: run it from a dedicated, attested account.
* Ages (of token secrets, certificates) are not stored: they change every day and would
  rewrite every row on every run; `created_at_source` carries the same fact.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from inventory.connectors.base import (
    BadConfig,
    CheckResult,
    Connector,
    ConnectorError,
    IdentityRecord,
    Param,
    register,
)
from inventory.connectors.kubernetes_api import KubeApi, b64decode
from inventory.connectors.kubernetes_certs import CertificateError, parse_pem_chain, utcnow
from inventory.connectors.kubernetes_meta import (
    SYSTEM_NAMESPACES,
    environment,
    federation,
    guessed_environment,
    iso,
    meta,
    owner_hints,
    require,
    str_map,
    timestamp,
)
from inventory.connectors.kubernetes_rbac import RbacIndex, assess, summary
from inventory.connectors.kubernetes_secrets import (
    TLS_TYPE,
    TOKEN_TYPE,
    by_service_account,
    cert_manager,
    token_credential,
)

CLUSTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass
class Snapshot:
    """Everything read from the cluster for one run (no secret values)."""

    namespaces: dict[str, dict]
    service_accounts: list[dict]
    tokens: dict[tuple[str, str], list[dict]]
    tls: list[dict]
    rbac: RbacIndex
    complete: bool  # every RoleBinding of the cluster was read


@register
class KubernetesConnector(Connector):
    """Service accounts, legacy token secrets, RBAC privilege and TLS certificates."""

    name = "kubernetes"
    title = "Kubernetes"
    params = [
        Param("cluster_name", "Short stable name of the cluster; part of every external id "
              "(changing it re-keys every identity).", required=True),
        Param("kubeconfig", "Path to a mounted kubeconfig file."),
        Param("context", "kubeconfig context to use (default: its current context)."),
        Param("host", "API server URL, e.g. https://10.0.0.1:6443 (with token_file)."),
        Param("token_file", "Path to a mounted file holding the bearer token (default: the "
              "pod's service account token)."),
        Param("ca_file", "Path to the cluster CA bundle (PEM)."),
        Param("verify_ssl", "Verify the API server's TLS certificate.", default=True),
        Param("namespaces", "Only read these namespaces (list); default: all."),
        Param("environment", "Environment slug of the whole cluster, e.g. production."),
        Param("page_size", "Objects per list page.", default=500),
        Param("timeout", "Seconds to wait for one API answer.", default=30),
    ]
    auth = (
        "A kubeconfig file mounted on the worker (`kubeconfig`, optional `context`), or a "
        "bearer token read from a mounted file (`token_file`, e.g. a projected service "
        "account token) with the cluster CA in `ca_file`; with neither, the in-cluster "
        "service account (KUBERNETES_SERVICE_HOST and the token and CA mounted under "
        "/var/run/secrets/kubernetes.io/serviceaccount). Never a token in this "
        "configuration. Needs a read-only ClusterRole: get/list namespaces; list "
        "serviceaccounts, secrets, roles, rolebindings, clusterroles, clusterrolebindings."
    )

    @classmethod
    def validate(cls, config: dict) -> dict:
        config = super().validate(config)
        problems: list[str] = []
        config["cluster_name"] = str(config["cluster_name"]).strip()
        if not CLUSTER_NAME.match(config["cluster_name"]):
            problems.append("'cluster_name' may hold letters, digits, '.', '_', ':' and '-' "
                            "only (it is part of every external id)")
        if config["kubeconfig"] and (config["host"] or config["token_file"]
                                     or config["ca_file"]):
            problems.append("use either 'kubeconfig' or 'host'/'token_file'/'ca_file'")
        if config["context"] and not config["kubeconfig"]:
            problems.append("'context' needs 'kubeconfig'")
        config["namespaces"] = _namespaces(config["namespaces"], problems)
        config["verify_ssl"] = _flag(config["verify_ssl"], "verify_ssl", problems)
        config["page_size"] = _number(config["page_size"], "page_size", 1, 5000, problems)
        config["timeout"] = _number(config["timeout"], "timeout", 1, 600, problems)
        if problems:
            raise BadConfig("Kubernetes: " + "; ".join(problems))
        return config

    def check(self) -> CheckResult:
        try:
            api = KubeApi(self.config)
        except ConnectorError as exc:
            return CheckResult(ok=False, summary=str(exc), error_kind=exc.kind)
        try:
            details = self._probe(api)
        except ConnectorError as exc:
            return CheckResult(ok=False, summary=str(exc), error_kind=exc.kind)
        finally:
            api.close()
        text = (f"Kubernetes {details['version']} at {api.host} (cluster "
                f"{self.config['cluster_name']}): {details['namespaces']} namespaces and "
                f"{details['service_accounts']} service accounts visible; secrets and RBAC "
                "readable.")
        if not self.config["verify_ssl"]:
            text += " Warning: TLS verification is off."
        return CheckResult(ok=True, summary=text, details=details)

    def _probe(self, api: KubeApi) -> dict:
        version = api.version()
        scopes = self.config["namespaces"] or [None]
        if self.config["namespaces"]:
            for ns in scopes:
                api.get_namespace(ns)
            ns_count = len(scopes)
        else:
            ns_count = api.count("namespaces")
        sa_count = sum(api.count("serviceaccounts", ns) for ns in scopes)
        for ns in scopes:  # each resource read() needs, named when it is denied
            api.probe("secrets", ns, field_selector=f"type={TOKEN_TYPE}")
            api.probe("roles", ns)
            api.probe("rolebindings", ns)
        api.probe("clusterroles")
        api.probe("clusterrolebindings")
        return {"version": str(version.get("gitVersion") or "unknown"),
                "platform": str(version.get("platform") or ""), "host": api.host,
                "namespaces": ns_count, "service_accounts": sa_count,
                "namespaces_restricted": bool(self.config["namespaces"]),
                "verify_ssl": self.config["verify_ssl"]}

    def read(self) -> Iterator[IdentityRecord]:
        snap = self._snapshot()
        now = utcnow()
        for index, sa in enumerate(snap.service_accounts):
            yield self._service_account(sa, index, snap)
        for index, secret in enumerate(snap.tls):
            yield self._certificate(secret, index, snap, now)

    def _snapshot(self) -> Snapshot:
        api = KubeApi(self.config)
        try:
            restricted = self.config["namespaces"]
            if restricted:
                namespaces = {ns: api.get_namespace(ns) for ns in restricted}
            else:
                namespaces = {meta(n)["name"]: n for n in _named(api.list("namespaces"),
                                                                 "namespace")}
            scopes = restricted or [None]

            def each(resource: str, **kwargs) -> list[dict]:
                return [item for ns in scopes for item in api.list(resource, ns, **kwargs)]

            sas = each("serviceaccounts")
            tokens = each("secrets", field_selector=f"type={TOKEN_TYPE}", metadata_only=True)
            tls = each("secrets", field_selector=f"type={TLS_TYPE}")
            rbac = RbacIndex(_named(each("roles"), "Role", "namespace"),
                             _named(api.list("clusterroles"), "ClusterRole"),
                             _named(each("rolebindings"), "RoleBinding", "namespace"),
                             _named(api.list("clusterrolebindings"), "ClusterRoleBinding"))
        finally:
            api.close()
        return Snapshot(namespaces=namespaces, service_accounts=sas,
                        tokens=by_service_account(tokens),
                        tls=[s for s in tls if s.get("type", TLS_TYPE) == TLS_TYPE],
                        rbac=rbac, complete=not restricted)

    def _service_account(self, sa: dict, index: int, snap: Snapshot) -> IdentityRecord:
        ns, name, uid = require(sa, "service account", index, "namespace", "name", "uid")
        m, label = meta(sa), f"service account {ns}/{name}"
        annotations = str_map(m.get("annotations"))
        grants = snap.rbac.grants_for(ns, name)
        verdict = assess(grants, snap.complete)
        creds = [token_credential(s, i, uid) for i, s in enumerate(snap.tokens.get((ns, name),
                                                                                   []))]
        active = [c for c in creds if c.status == "active"]
        rotated = [c.created_at_source for c in (active or creds) if c.created_at_source]
        namespace = snap.namespaces.get(ns)
        env = environment(sa, namespace, self.config["environment"] or "")
        attributes = {
            "cluster": self.config["cluster_name"], "namespace": ns, "uid": uid,
            "automountServiceAccountToken": sa.get("automountServiceAccountToken"),
            "labels": str_map(m.get("labels")), "annotations": annotations,
            "bindings": [g.as_dict() for g in grants], "privilege_reasons": verdict.reasons,
            "secrets_access": verdict.secrets_access, "rbac_complete": snap.complete,
            "secrets": _names(sa.get("secrets")),
            "image_pull_secrets": _names(sa.get("imagePullSecrets")),
            "legacy_token_secrets": len(active), "federated_to": federation(annotations),
        }
        tags = [ns, *(["system"] if ns in SYSTEM_NAMESPACES else []),
                *(["legacy-token"] if active else [])]
        return IdentityRecord(
            external_id=f"{self.config['cluster_name']}/{ns}/{name}", provider="kubernetes",
            kind="k8s_service_account", name=name, path=ns, environment=env,
            privilege=verdict.privilege, permissions_summary=summary(grants, snap.complete),
            auth_method="static_secret" if active else "short_lived_token",
            created_at_source=timestamp(m.get("creationTimestamp"), label),
            last_rotated_at=max(rotated) if rotated else None, tags=tags,
            attributes=attributes, owner_hints=self._hints(sa, namespace, ns, env),
            credentials=creds)

    def _hints(self, obj: dict, namespace: dict | None, ns: str, env: str) -> dict[str, str]:
        """Owner hints; without an explicit environment, one guessed from names."""
        hints = owner_hints(obj, namespace)
        guess = "" if env else guessed_environment(ns, self.config["cluster_name"])
        if guess:
            hints["environment"] = guess
        return hints

    def _certificate(self, secret: dict, index: int, snap: Snapshot,
                     now: datetime) -> IdentityRecord:
        ns, name = require(secret, "TLS secret", index, "namespace", "name")
        m, label = meta(secret), f"TLS secret {ns}/{name}"
        annotations = str_map(m.get("annotations"))
        namespace = snap.namespaces.get(ns)
        env = environment(secret, namespace, self.config["environment"] or "")
        attributes: dict = {
            "cluster": self.config["cluster_name"], "namespace": ns, "secret": name,
            "uid": m.get("uid"), "labels": str_map(m.get("labels")), "annotations": annotations,
            **cert_manager(annotations),
        }
        record = IdentityRecord(
            external_id=f"{self.config['cluster_name']}/{ns}/{name}", provider="kubernetes",
            kind="certificate", name=name, path=ns, auth_method="certificate", environment=env,
            created_at_source=timestamp(m.get("creationTimestamp"), label),
            tags=[ns, "tls"], attributes=attributes,
            owner_hints=self._hints(secret, namespace, ns, env))
        pem = b64decode(((secret.get("data") or {}).get("tls.crt")) or "")
        try:
            facts = parse_pem_chain(pem)
        except CertificateError as exc:
            attributes["parse_error"] = str(exc)
            record.permissions_summary = "TLS secret; certificate unreadable"
            return record
        record.expires_at, record.last_rotated_at = facts.not_after, facts.not_before
        record.permissions_summary = "TLS certificate for " + (
            ", ".join(facts.sans[:3]) + (" …" if len(facts.sans) > 3 else "")
            if facts.sans else facts.common_name or facts.subject)
        attributes.update({
            "subject": facts.subject, "common_name": facts.common_name,
            "issuer": facts.issuer, "serial": facts.serial, "sans": facts.sans,
            "not_before": iso(facts.not_before), "not_after": iso(facts.not_after),
            "key_algorithm": facts.key_algorithm, "key_size": facts.key_size,
            "fingerprint_sha256": facts.fingerprint, **facts.attributes})
        record.credentials = [facts.credential(now)]
        return record


def _named(items: list[dict], what: str, *keys: str) -> list[dict]:
    """The items, once each has been checked to carry its name (and namespace)."""
    for index, item in enumerate(items):
        require(item, what, index, "name", *keys)
    return items


def _names(refs) -> list[str]:
    return sorted(str(r.get("name")) for r in refs or [] if isinstance(r, dict) and
                  r.get("name"))


def _namespaces(value, problems: list[str]) -> list[str]:
    if value in (None, "", []):
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        problems.append("'namespaces' must be a list of namespace names")
        return []
    names = list(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))
    bad = [n for n in names if not DNS_LABEL.match(n)]
    if bad:
        problems.append(f"'namespaces' holds invalid names: {', '.join(bad)}")
    return names


def _flag(value, label: str, problems: list[str]) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    problems.append(f"'{label}' must be true or false")
    return True


def _number(value, label: str, low: int, high: int, problems: list[str]) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not low <= number <= high:
        problems.append(f"'{label}' must be a whole number from {low} to {high}")
    return number
