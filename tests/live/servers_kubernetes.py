"""A loopback Kubernetes API stand-in for the connector tests.

No API server can be installed here, so a small threaded HTTPS server replays recorded
Kubernetes API JSON (`tests/live/k8s_api/*.json`) the way kube-apiserver answers it:
bearer-token authentication (401 Status for an unknown token), `limit` + `continue`
pagination with opaque continue tokens and `remainingItemCount`, `fieldSelector=type=`
on secrets, metadata-only lists for `Accept: ...;as=PartialObjectMetadataList`, cluster
and namespaced list paths, and Status JSON errors. The real `kubernetes` client talks to
it over TLS, verifying a CA generated per session.

Each bearer token selects a behaviour ("admin", "restricted" = 403 on secrets, ...), so
tests stay independent while sharing one server. Secret values in the recorded JSON are
placeholders (`{{b64:name}}`) filled at start-up with canary tokens and freshly generated
certificates and private keys, which tests then search for in the connector's output.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import secrets
import ssl
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

# The same API paths the demo's stand-in serves.
from inventory.demo.live_k8s_server import COLLECTIONS, NAMESPACED, SINGLE_NAMESPACE

RECORDED = Path(__file__).parent / "k8s_api"
BEHAVIOURS = ("admin", "restricted", "page2-forbidden", "malformed-json", "malformed-record",
              "empty", "expire-once", "full-secrets")
EXPIRED_MESSAGE = ("The provided continue parameter is too old to display a consistent list "
                   "result. You can start a new list without the continue parameter.")


# ---------------------------------------------------------------------------- PKI
def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "nhigov tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject_cn: str, key, issuer_cn: str, issuer_key, *, days=(-1, 365), sans=(),
          ca=False) -> x509.Certificate:
    now = datetime.now(UTC).replace(microsecond=0)
    builder = (x509.CertificateBuilder().subject_name(_name(subject_cn))
               .issuer_name(_name(issuer_cn)).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now + timedelta(days=days[0]))
               .not_valid_after(now + timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        names = [x509.IPAddress(ipaddress.ip_address(s)) if s[0].isdigit() else x509.DNSName(s)
                 for s in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _rsa(bits: int):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@dataclass
class Material:
    """Everything generated per session: the API server's PKI, the certificates served in
    TLS secrets, and the canary values that must never leave the connector."""

    values: dict[str, bytes] = field(default_factory=dict)
    certs: dict[str, x509.Certificate] = field(default_factory=dict)

    @classmethod
    def generate(cls) -> Material:
        m = cls()
        cluster_key, issuer_key = _rsa(2048), ec.generate_private_key(ec.SECP256R1())
        cluster_ca = _cert("kubernetes", cluster_key, "kubernetes", cluster_key, ca=True)
        issuer = _cert("internal-ca", issuer_key, "internal-ca", issuer_key, ca=True)
        ec_key, small_key, old_key = ec.generate_private_key(ec.SECP256R1()), _rsa(1024), \
            _rsa(2048)
        m.certs = {
            "ec": _cert("trainer.ml.example.com", ec_key, "internal-ca", issuer_key,
                        days=(-20, 70), sans=("trainer.ml.example.com",
                                               "trainer.ml-training.svc")),
            "rsa1024": _cert("payments-api.staging.example.com", small_key,
                             "payments-api.staging.example.com", small_key, days=(-30, 335),
                             sans=("payments-api.staging.example.com",)),
            "expired": _cert("legacy.example.com", old_key, "internal-ca", issuer_key,
                             days=(-400, -35), sans=("legacy.example.com",
                                                     "www.legacy.example.com", "10.20.0.7")),
        }
        m.values = {
            "cluster_ca": _pem(cluster_ca), "issuer_ca": _pem(issuer),
            "ec_chain": _pem(m.certs["ec"]) + _pem(issuer), "ec_key": _pem(ec_key),
            "rsa1024_crt": _pem(m.certs["rsa1024"]), "rsa1024_key": _pem(small_key),
            "expired_crt": _pem(m.certs["expired"]), "expired_key": _pem(old_key),
            "opaque_canary": f"CANARY-K8S-OPAQUE-{secrets.token_hex(8)}".encode(),
        }
        for name in ("legacy_admin_token_8xk2p", "deployer_token_old", "deployer_token_q7w2n",
                     "old_worker_token_abcde", "ci_bot_token_zz9k1"):
            m.values[f"token_{name}"] = f"CANARY-K8S-TOKEN-{secrets.token_hex(12)}".encode()
        return m

    def canaries(self) -> list[str]:
        """Every secret value, plain and base64, as it could leak into records."""
        found = [v for k, v in self.values.items() if k.startswith("token_") or
                 k.endswith("_key") or k == "opaque_canary"]
        out = []
        for value in found:
            out.append(base64.b64encode(value).decode())
            text = value.decode()
            # PEM keys: their base64 body lines are the secret part.
            out += [line for line in text.splitlines() if line and not line.startswith("-----")]
        return out


def load_recorded(material: Material) -> dict[str, dict]:
    """The recorded API JSON with the placeholders replaced by this session's values."""

    def fill(match: re.Match) -> str:
        kind, name = match.group(1), match.group(2)
        raw = name.encode() if kind == "b64text" else material.values[name]
        return base64.b64encode(raw).decode()

    out = {}
    for path in RECORDED.glob("*.json"):
        text = re.sub(r"\{\{(b64|b64text):([^}]+)\}\}", fill, path.read_text())
        out[path.stem] = json.loads(text)
    return out


# ---------------------------------------------------------------------------- server
def _status(code: int, reason: str, message: str, **extra) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": extra.pop("metadata", {}),
            "status": "Failure", "message": message, "reason": reason, "code": code, **extra}


def _key(item: dict) -> str:
    m = item["metadata"]
    return f"{m.get('namespace', '')}/{m.get('name', '')}"


def _continue_token(start: str) -> str:
    # kube-apiserver's continue token: base64 JSON with the resource version and next key.
    blob = json.dumps({"v": "meta.k8s.io/v1", "rv": 184467, "start": start})
    return base64.urlsafe_b64encode(blob.encode()).decode()


def _continue_start(token: str) -> str | None:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))["start"]
    except (ValueError, KeyError, TypeError):
        return None


class KubeApiServer:
    """The running fake API server; `requests` logs (behaviour, path, query, accept)."""

    def __init__(self, data: dict[str, dict], tokens: dict[str, str], certfile: str,
                 keyfile: str):
        self.data, self.tokens = data, tokens
        self.requests: list[dict] = []
        self.expired_once: set[str] = set()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True  # a stuck client must not block interpreter exit
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def requests_for(self, behaviour: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["behaviour"] == behaviour]

    def answer(self, behaviour: str, path: str, query: dict, accept: str) -> tuple[int, object]:
        if path.rstrip("/") == "/version":
            return 200, self.data["version"]
        single = SINGLE_NAMESPACE.match(path)
        if single:
            return self._namespace(behaviour, single.group(1))
        namespaced = NAMESPACED.match(path)
        if namespaced:
            base, namespace, resource = namespaced.groups()
            path = f"{base}/{resource}"
        else:
            namespace = None
        if path not in COLLECTIONS or (namespace and not COLLECTIONS[path][1]):
            return 404, _status(404, "NotFound", "the server could not find the requested "
                                "resource")
        return self._list(behaviour, COLLECTIONS[path][0], namespace, query, accept)

    def _namespace(self, behaviour: str, name: str) -> tuple[int, object]:
        items = [] if behaviour == "empty" else self.data["namespaces"]["items"]
        for item in items:
            if item["metadata"]["name"] == name:
                return 200, {"kind": "Namespace", "apiVersion": "v1", **item}
        return 404, _status(404, "NotFound", f'namespaces "{name}" not found',
                            details={"name": name, "kind": "namespaces"})

    def _list(self, behaviour, resource, namespace, query, accept) -> tuple[int, object]:
        token = query.get("continue")
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        if (resource == "secrets" and behaviour == "restricted") or (
                resource == "serviceaccounts" and token and behaviour == "page2-forbidden"):
            return 403, _status(403, "Forbidden", f'{resource} is forbidden: User "system:'
                                f'serviceaccount:nhigov:{behaviour}" cannot list resource '
                                f'"{resource}" in API group "" {scope}',
                                details={"kind": resource})
        if resource == "serviceaccounts" and token and behaviour == "expire-once":
            with self.lock:
                first = behaviour not in self.expired_once
                self.expired_once.add(behaviour)
            if first:
                return 410, _status(410, "Expired", EXPIRED_MESSAGE)
        if resource == "serviceaccounts" and behaviour == "malformed-json":
            return 200, '{"kind": "ServiceAccountList", "apiVersion": "v1", "items": [{"meta'
        listing = json.loads(json.dumps(self.data[resource]))  # a private deep copy
        items = [] if behaviour == "empty" else listing["items"]
        if resource == "serviceaccounts" and behaviour == "malformed-record":
            for item in items:
                if _key(item) == "ml-training/trainer":
                    del item["metadata"]["uid"]
        items = sorted((i for i in items if not namespace or
                        i["metadata"].get("namespace") == namespace), key=_key)
        selector = query.get("fieldSelector")
        if selector:
            field_name, _, wanted = selector.replace("==", "=").partition("=")
            if field_name != "type" or resource != "secrets":
                return 400, _status(400, "BadRequest", f'"{field_name}" is not a known field '
                                    f"selector: only \"metadata.name\", \"metadata.namespace\"")
            items = [i for i in items if i.get("type") == wanted]
        return self._page(listing, items, query, accept, behaviour, bool(selector))

    def _page(self, listing, items, query, accept, behaviour, selected) -> tuple[int, object]:
        start = 0
        if query.get("continue"):
            key = _continue_start(query["continue"])
            if key is None:
                return 400, _status(400, "BadRequest", "continue key is not valid")
            start = next((n for n, i in enumerate(items) if _key(i) >= key), len(items))
        limit = int(query.get("limit") or 0) or len(items) or 1
        page, rest = items[start:start + limit], items[start + limit:]
        listing["items"] = page
        listing["metadata"] = {"resourceVersion": "184467"}
        if rest:
            listing["metadata"]["continue"] = _continue_token(_key(rest[0]))
            if not selected:
                listing["metadata"]["remainingItemCount"] = len(rest)
        if "as=PartialObjectMetadataList" in accept and behaviour != "full-secrets":
            listing.update(kind="PartialObjectMetadataList", apiVersion="meta.k8s.io/v1")
            listing["items"] = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                 "metadata": i["metadata"]} for i in page]
        return 200, listing


def _handler(server: KubeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            auth = self.headers.get("Authorization", "")
            behaviour = server.tokens.get(auth.removeprefix("Bearer ").strip(), "")
            accept = self.headers.get("Accept", "")
            with server.lock:
                server.requests.append({"behaviour": behaviour or "unauthenticated",
                                        "path": url.path, "query": query, "accept": accept})
            if not behaviour:
                status, body = 401, _status(401, "Unauthorized", "Unauthorized")
            else:
                status, body = server.answer(behaviour, url.path, query, accept)
            if status != 200:
                with server.lock:
                    server.requests[-1]["status"] = status
            raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

    return Handler


@dataclass
class KubeFixture:
    """What tests need: the URL, the CA to trust, one token file per behaviour."""

    server: KubeApiServer
    material: Material
    ca_file: str
    token_files: dict[str, str]
    workdir: Path

    @property
    def url(self) -> str:
        return self.server.url

    def config(self, behaviour: str = "admin", **extra) -> dict:
        return {"cluster_name": "aif-prod-eu1", "host": self.url, "ca_file": self.ca_file,
                "token_file": self.token_files[behaviour], **extra}

    def kubeconfig(self, name: str = "kubeconfig.yaml") -> str:
        """A kubeconfig with one context per behaviour (admin is current), tokens in files."""
        import yaml

        doc = {"apiVersion": "v1", "kind": "Config", "current-context": "aif-prod-eu1",
               "clusters": [{"name": "aif-prod-eu1", "cluster": {
                   "server": self.url, "certificate-authority": self.ca_file}}],
               "users": [{"name": b, "user": {"tokenFile": f}}
                         for b, f in self.token_files.items()],
               "contexts": [{"name": "aif-prod-eu1" if b == "admin" else f"aif-prod-eu1-{b}",
                             "context": {"cluster": "aif-prod-eu1", "user": b}}
                            for b in self.token_files]}
        path = self.workdir / name
        path.write_text(yaml.safe_dump(doc))
        return str(path)


@pytest.fixture(scope="session", name="k8s_api")
def k8s_api_fixture(tmp_path_factory) -> KubeFixture:
    """Start the fake API server over TLS on a free loopback port; stop it at the end."""
    workdir = tmp_path_factory.mktemp("k8s")
    material = Material.generate()
    ca_key, server_key = _rsa(2048), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("kube-apiserver test CA", ca_key, "kube-apiserver test CA", ca_key, ca=True)
    server_cert = _cert("kube-apiserver", server_key, "kube-apiserver test CA", ca_key,
                        sans=("127.0.0.1", "localhost", "kubernetes.default.svc"))
    files = {"ca.crt": _pem(ca), "apiserver.crt": _pem(server_cert),
             "apiserver.key": _pem(server_key)}
    for name, content in files.items():
        (workdir / name).write_bytes(content)
    tokens = {f"{b}-{secrets.token_urlsafe(24)}": b for b in BEHAVIOURS}
    token_files = {}
    for value, behaviour in tokens.items():
        path = workdir / f"token-{behaviour}"
        path.write_text(value + "\n")  # a trailing newline, as mounted tokens often have
        token_files[behaviour] = str(path)
    wrong = workdir / "token-wrong"
    wrong.write_text("not-a-valid-token")
    token_files["wrong"] = str(wrong)
    server = KubeApiServer(load_recorded(material), tokens, str(workdir / "apiserver.crt"),
                           str(workdir / "apiserver.key"))
    server.thread.start()
    try:
        yield KubeFixture(server, material, str(workdir / "ca.crt"), token_files, workdir)
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
        server.thread.join(timeout=5)
