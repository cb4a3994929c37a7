"""The demo's GPU cluster as recorded Kubernetes API JSON, for the live demo.

No API server can run on a laptop without a container runtime, so the cluster is what
kube-apiserver would answer, generated from the generator's records and served by
`live_k8s_server` (a child process, HTTPS with a CA of its own, bearer-token
authentication) to the real `kubernetes` client of the connector:

* namespaces labelled with their environment;
* service accounts with their UID, creation time, `app.kubernetes.io/name` label, owner
  annotations (`nhigov.io/technical-owner`, `/team`, `/purpose`, `/zone`...) and IRSA
  role annotations;
* legacy `kubernetes.io/service-account-token` secrets, with the legacy-token-last-used
  label Kubernetes 1.26+ maintains;
* RBAC that yields each account's privilege: cluster-admin bindings, ClusterRoles that
  read secrets cluster-wide, and namespaced Roles that write or only read;
* `kubernetes.io/tls` secrets holding the cluster-internal certificates (see live_pki),
  cert-manager annotations on those it renews.

The files hold demo private keys (TLS secrets carry `tls.key`, as real ones do) and are
written mode 600; the connector drops every secret value before it looks at an object.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory.connectors.base import IdentityRecord
from inventory.demo.cloud import NAMESPACES
from inventory.demo.live_files import write_private, write_public
from inventory.demo.live_pki import Issued

TOKEN_TYPE = "kubernetes.io/service-account-token"  # noqa: S105 - a type name
ANNOTATIONS = {"technical_owner": "nhigov.io/technical-owner",
               "business_owner": "nhigov.io/business-owner",
               "backup_owner": "nhigov.io/backup-owner", "team": "nhigov.io/team",
               "purpose": "nhigov.io/purpose", "zone": "nhigov.io/zone"}
CLUSTER_ADMIN_RULES = [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                       {"nonResourceURLs": ["*"], "verbs": ["*"]}]
OPERATOR_RULES = [{"apiGroups": ["", "apps", "batch"],
                   "resources": ["secrets", "configmaps", "pods", "deployments", "jobs"],
                   "verbs": ["get", "list", "watch", "create", "update", "patch"]}]
WRITE_RULES = [{"apiGroups": ["", "apps", "batch"],
                "resources": ["pods", "configmaps", "jobs", "deployments"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]
READ_RULES = [{"apiGroups": [""], "resources": ["pods", "configmaps", "services"],
               "verbs": ["get", "list", "watch"]}]
VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.4-eks-aifactory",
           "platform": "linux/amd64", "goVersion": "go1.22.9"}


def _ts(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "k8s://gpu-cluster/" + "/".join(parts)))


def _b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def _annotations(hints: dict) -> dict:
    return {ANNOTATIONS[k]: v for k, v in hints.items() if k in ANNOTATIONS}


class Cluster:
    """Builds the lists one API answer at a time."""

    def __init__(self) -> None:
        self.lists: dict[str, list[dict]] = {
            name: [] for name in ("namespaces", "serviceaccounts", "secrets", "roles",
                                  "rolebindings", "clusterroles", "clusterrolebindings")}
        self.cluster_roles: set[str] = set()
        self.created = datetime(2023, 3, 14, 9, 30, tzinfo=UTC)  # the cluster's birth

    def namespace(self, name: str, environment: str) -> None:
        self.lists["namespaces"].append({"metadata": {
            "name": name, "uid": _uid("ns", name), "creationTimestamp": _ts(self.created),
            "labels": {"kubernetes.io/metadata.name": name, "environment": environment}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})

    def cluster_role(self, name: str, rules: list[dict]) -> None:
        if name not in self.cluster_roles:
            self.cluster_roles.add(name)
            self.lists["clusterroles"].append({"metadata": {
                "name": name, "uid": _uid("clusterrole", name),
                "creationTimestamp": _ts(self.created)}, "rules": rules})

    def bind(self, ns: str, sa: str, role_kind: str, role: str, cluster: bool) -> None:
        name = f"{ns}-{sa}-{role}" if cluster else f"{sa}-{role.lower()}"
        meta = {"name": name, "uid": _uid("binding", ns, name),
                "creationTimestamp": _ts(self.created)}
        if not cluster:
            meta["namespace"] = ns
        self.lists["clusterrolebindings" if cluster else "rolebindings"].append({
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind,
                        "name": role},
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]})

    def service_account(self, record: IdentityRecord) -> None:
        ns, sa, attrs = record.path, record.name, record.attributes
        annotations = _annotations(record.owner_hints)
        annotations.update(attrs.get("annotations") or {})
        meta = {"name": sa, "namespace": ns, "uid": attrs["uid"],
                "creationTimestamp": _ts(record.created_at_source), "annotations": annotations,
                "labels": {} if sa == "default" else {"app.kubernetes.io/name": sa}}
        body = {"metadata": meta}
        tokens = [c for c in record.credentials if c.kind == "token_secret"]
        if tokens:
            body["secrets"] = [{"name": c.external_id} for c in tokens]
        self.lists["serviceaccounts"].append(body)
        for cred in tokens:
            self.token_secret(ns, sa, attrs["uid"], cred, record.last_used_at)
        self.rbac(ns, sa, record.privilege, attrs.get("bindings") or [])

    def token_secret(self, ns: str, sa: str, sa_uid: str, cred, last_used) -> None:
        labels = {"kubernetes.io/legacy-token-last-used": last_used.strftime("%Y-%m-%d")} \
            if last_used else {}
        self.lists["secrets"].append({
            "metadata": {"name": cred.external_id, "namespace": ns,
                         "uid": _uid("secret", ns, cred.external_id),
                         "creationTimestamp": _ts(cred.created_at_source), "labels": labels,
                         "annotations": {"kubernetes.io/service-account.name": sa,
                                         "kubernetes.io/service-account.uid": sa_uid}},
            "type": TOKEN_TYPE,
            # A stand-in for the token (not a JWT, opens nothing; the connector never asks
            # for it), derived from the uid so the recorded cluster is the same every run.
            "data": {"token": _b64(_uid("token", sa_uid, cred.external_id)),
                     "namespace": _b64(ns)}})

    def rbac(self, ns: str, sa: str, privilege: str, bindings: list[str]) -> None:
        if "ClusterRole/cluster-admin" in bindings:
            self.cluster_role("cluster-admin", CLUSTER_ADMIN_RULES)
            self.bind(ns, sa, "ClusterRole", "cluster-admin", cluster=True)
        elif bindings:  # its own ClusterRole, reading secrets cluster-wide (an operator)
            role = bindings[0].removeprefix("ClusterRole/")
            self.cluster_role(role, OPERATOR_RULES)
            self.bind(ns, sa, "ClusterRole", role, cluster=True)
        else:
            self.lists["roles"].append({"metadata": {
                "name": sa, "namespace": ns, "uid": _uid("role", ns, sa),
                "creationTimestamp": _ts(self.created)},
                "rules": WRITE_RULES if privilege == "write" else READ_RULES})
            self.bind(ns, sa, "Role", sa, cluster=False)

    def tls_secret(self, issued: Issued, pki: Path) -> None:
        from cryptography import x509

        pem = issued.pem(pki)
        issued_at = x509.load_pem_x509_certificate(pem.encode()).not_valid_before_utc
        annotations = _annotations(issued.hints)
        if issued.auto_renew:
            annotations |= {"cert-manager.io/certificate-name": issued.name,
                            "cert-manager.io/issuer-name": "aif-cluster-ca",
                            "cert-manager.io/issuer-kind": "ClusterIssuer"}
        self.lists["secrets"].append({
            "metadata": {"name": issued.name, "namespace": issued.namespace,
                         "uid": _uid("secret", issued.namespace, issued.name),
                         "creationTimestamp": _ts(issued_at + timedelta(minutes=2)),
                         "annotations": annotations},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": _b64(pem + issued.chain(pki)), "tls.key": _b64(issued.key(pki))}})


def write_recorded_api(folder: Path, records: list[IdentityRecord], issued: list[Issued],
                       pki: Path) -> str:
    """Write `<folder>/api/*.json`; returns a digest of the content (to reuse a server
    already serving the same cluster)."""
    import hashlib

    cluster = Cluster()
    for ns, (environment, _zone, _team, _sas) in NAMESPACES.items():
        cluster.namespace(ns, environment)
    for record in records:
        cluster.service_account(record)
    for certificate in issued:
        if certificate.group == "k8s":
            cluster.tls_secret(certificate, pki)
    digest = hashlib.sha256()
    for name, items in sorted(cluster.lists.items()):
        kind = {"namespaces": "NamespaceList", "serviceaccounts": "ServiceAccountList",
                "secrets": "SecretList", "roles": "RoleList", "rolebindings": "RoleBindingList",
                "clusterroles": "ClusterRoleList",
                "clusterrolebindings": "ClusterRoleBindingList"}[name]
        body = json.dumps({"kind": kind, "apiVersion": "v1", "metadata": {},
                           "items": items}, sort_keys=True)
        digest.update(body.encode())
        write_private(folder / "api" / f"{name}.json", body)
    write_public(folder / "api" / "version.json", json.dumps(VERSION))
    return digest.hexdigest()[:16]


def api_credentials(folder: Path) -> tuple[Path, Path]:
    """(token file, CA file) of the demo API server, made once and kept: a CA and an
    EC server certificate for 127.0.0.1, and a random bearer token (mode 600)."""
    token, ca = folder / "token", folder / "ca.crt"
    if not (token.exists() and ca.exists() and (folder / "apiserver.key").exists()):
        _make_tls(folder)
        write_private(token, secrets.token_urlsafe(32) + "\n")
    return token, ca


def _make_tls(folder: Path) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    now = datetime.now(UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("gpu-cluster demo CA"))
          .issuer_name(name("gpu-cluster demo CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name("kube-apiserver"))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    write_public(folder / "ca.crt", ca.public_bytes(pem).decode())
    write_public(folder / "apiserver.crt", cert.public_bytes(pem).decode())
    write_private(folder / "apiserver.key", key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode())
