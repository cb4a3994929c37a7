"""A loopback Kubernetes API stand-in for the live demo, run as a child process:

    python -m inventory.demo.live_k8s_server --port N --dir <demo>/k8s

Serves the recorded API JSON of `<dir>/api/` over HTTPS (`<dir>/apiserver.crt`, signed
by `<dir>/ca.crt`) the way kube-apiserver answers the read-only calls the kubernetes
connector makes: bearer-token authentication against `<dir>/token` (401 Status
otherwise), `/version`, namespace get and list, cluster-wide and namespaced lists with
`limit` + `continue` pagination and `remainingItemCount`, `fieldSelector=type=` on
secrets, and metadata-only lists for `Accept: ...;as=PartialObjectMetadataList`. The
files are read at start-up. Imports no Django; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import re
import signal
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

RBAC = "/apis/rbac.authorization.k8s.io/v1"
COLLECTIONS = {  # path -> (recorded file, namespaced)
    "/api/v1/namespaces": ("namespaces", False),
    "/api/v1/serviceaccounts": ("serviceaccounts", True),
    "/api/v1/secrets": ("secrets", True),
    f"{RBAC}/roles": ("roles", True),
    f"{RBAC}/rolebindings": ("rolebindings", True),
    f"{RBAC}/clusterroles": ("clusterroles", False),
    f"{RBAC}/clusterrolebindings": ("clusterrolebindings", False),
}
NAMESPACED = re.compile(r"^(/api/v1|/apis/rbac\.authorization\.k8s\.io/v1)/namespaces/"
                        r"([a-z0-9-]+)/([a-z]+)$")
SINGLE_NAMESPACE = re.compile(r"^/api/v1/namespaces/([a-z0-9-]+)$")


def status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def _key(item: dict) -> str:
    meta = item["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


class Api:
    """Answers from the recorded lists (read once)."""

    def __init__(self, folder: Path) -> None:
        self.data = {p.stem: json.loads(p.read_text()) for p in (folder / "api").glob("*.json")}
        self.token = (folder / "token").read_text().strip()

    def authorised(self, header: str) -> bool:
        given = header.removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), self.token.encode())

    def answer(self, path: str, query: dict, accept: str) -> tuple[int, dict]:
        path = path.rstrip("/")
        if path == "/version":
            return 200, self.data["version"]
        single = SINGLE_NAMESPACE.match(path)
        if single:
            for item in self.data["namespaces"]["items"]:
                if item["metadata"]["name"] == single.group(1):
                    return 200, {"kind": "Namespace", "apiVersion": "v1", **item}
            return 404, status(404, "NotFound", f'namespaces "{single.group(1)}" not found')
        namespace = None
        scoped = NAMESPACED.match(path)
        if scoped:
            base, namespace, resource = scoped.groups()
            path = f"{base}/{resource}"
        if path not in COLLECTIONS or (namespace and not COLLECTIONS[path][1]):
            return 404, status(404, "NotFound", "the server could not find the requested "
                               "resource")
        return self.list(COLLECTIONS[path][0], namespace, query, accept)

    def list(self, resource: str, namespace: str | None, query: dict,
             accept: str) -> tuple[int, dict]:
        recorded = self.data[resource]
        items = sorted((i for i in recorded["items"]
                        if not namespace or i["metadata"].get("namespace") == namespace),
                       key=_key)
        selector = query.get("fieldSelector")
        if selector:
            field, _, wanted = selector.replace("==", "=").partition("=")
            if field != "type" or resource != "secrets":
                return 400, status(400, "BadRequest",
                                   f'"{field}" is not a known field selector')
            items = [i for i in items if i.get("type") == wanted]
        start = 0
        if query.get("continue"):
            try:
                after = json.loads(base64.urlsafe_b64decode(query["continue"]))["start"]
            except (ValueError, KeyError, TypeError):
                return 400, status(400, "BadRequest", "continue key is not valid")
            start = next((n for n, i in enumerate(items) if _key(i) >= after), len(items))
        limit = int(query.get("limit") or 0) or len(items) or 1
        page, rest = items[start:start + limit], items[start + limit:]
        meta: dict = {"resourceVersion": "20251"}
        if rest:
            blob = json.dumps({"v": "meta.k8s.io/v1", "rv": 20251, "start": _key(rest[0])})
            meta["continue"] = base64.urlsafe_b64encode(blob.encode()).decode()
            if not selector:
                meta["remainingItemCount"] = len(rest)
        if "as=PartialObjectMetadataList" in accept:
            return 200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                         "metadata": meta, "items": [
                             {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                              "metadata": i["metadata"]} for i in page]}
        return 200, {"kind": recorded["kind"], "apiVersion": recorded["apiVersion"],
                     "metadata": meta, "items": page}


def handler(api: Api) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlparse(self.path)
            if not api.authorised(self.headers.get("Authorization", "")):
                code, body = 401, status(401, "Unauthorized", "Unauthorized")
            else:
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                code, body = api.answer(url.path, query, self.headers.get("Accept", ""))
            raw = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args) -> None:  # quiet: the demo log is for errors
            pass

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), handler(Api(args.dir)))
    httpd.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.dir / "apiserver.crt", args.dir / "apiserver.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    stopper = threading.Thread(target=httpd.serve_forever, daemon=True)
    stopper.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"Kubernetes API stand-in ready on https://127.0.0.1:{args.port}", flush=True)
    done.wait()
    httpd.shutdown()


if __name__ == "__main__":
    main()
