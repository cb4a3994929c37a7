"""Kubernetes API access for the Kubernetes connector: a client built from non-secret
config plus mounted files, paged list calls that return plain JSON dicts, and the
mapping of client and transport errors to ConnectorErrors with readable messages.

Responses are read raw (`_preload_content=False`) and parsed as JSON rather than into
the client's typed models: typed deserialisation would keep every Secret's `data` in
model objects we cannot scrub, and it fails with opaque validation errors on odd input.
Secrets are scrubbed in `KubeApi.list` itself, page by page, right after parsing, so
no caller can forget to: only `tls.crt` survives, and the kubectl
`last-applied-configuration` annotation (which holds a copy of the data) is dropped.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from inventory.connectors.base import AccessDenied, BadConfig, ConnectorError, Unreachable

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 (a path)
IN_CLUSTER_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
# Ask for metadata only (what client-go's metadata client sends); a server that does not
# support it answers with full objects, which the secret scrubbing below handles.
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SECRET_KEYS_KEPT = frozenset({"tls.crt"})  # a public certificate; everything else is secret

CORE, RBAC = "CoreV1Api", "RbacAuthorizationV1Api"
# resource -> (API class, cluster-wide list method, namespaced list method or None)
RESOURCES: dict[str, tuple[str, str, str | None]] = {
    "namespaces": (CORE, "list_namespace", None),
    "serviceaccounts": (CORE, "list_service_account_for_all_namespaces",
                        "list_namespaced_service_account"),
    "secrets": (CORE, "list_secret_for_all_namespaces", "list_namespaced_secret"),
    "roles": (RBAC, "list_role_for_all_namespaces", "list_namespaced_role"),
    "rolebindings": (RBAC, "list_role_binding_for_all_namespaces",
                     "list_namespaced_role_binding"),
    "clusterroles": (RBAC, "list_cluster_role", None),
    "clusterrolebindings": (RBAC, "list_cluster_role_binding", None),
}


class _Expired(Exception):
    """A continue token expired (410 Gone) mid-list: the list must start over."""


def scrub_secret(item: dict) -> dict:
    """Drop every secret value from a Secret object, keeping only `tls.crt`."""
    data = item.pop("data", None) or {}
    item.pop("stringData", None)
    meta = item.get("metadata") or {}
    meta.pop("managedFields", None)
    (meta.get("annotations") or {}).pop(LAST_APPLIED, None)
    kept = {k: v for k, v in data.items() if k in SECRET_KEYS_KEPT} if isinstance(data, dict) \
        else {}
    if kept:
        item["data"] = kept
    return item


class KubeApi:
    """A thin, read-only wrapper over the official client for one cluster."""

    def __init__(self, config: dict):
        self.page_size = int(config.get("page_size") or 500)
        timeout = float(config.get("timeout") or 30)
        self.timeout = (min(10.0, timeout), timeout)  # (connect, read) seconds
        self.client, self.host = _build_client(config)

    def close(self) -> None:
        self.client.close()

    def _api(self, name: str):
        from kubernetes import client

        return getattr(client, name)(self.client)

    def version(self) -> dict:
        return self._json("version", self._api("VersionApi").get_code, "the /version endpoint")

    def get_namespace(self, name: str) -> dict:
        return self._json("namespaces", lambda **kw: self._api(CORE).read_namespace(name, **kw),
                          f"namespace {name!r}")

    def count(self, resource: str, namespace: str | None = None) -> int:
        """How many objects a list returns, cheaply: the server's `remainingItemCount`
        when it reports one, else a metadata-only walk of the pages."""
        page = self._page(resource, namespace, None, limit=1, metadata_only=True, number=1)
        remaining = (page.get("metadata") or {}).get("remainingItemCount")
        if isinstance(remaining, int):
            return len(page["items"]) + remaining
        return len(self.list(resource, namespace, metadata_only=True))

    def probe(self, resource: str, namespace: str | None = None, **kwargs) -> None:
        """One single-item list call: proves the list permission on `resource`."""
        self._page(resource, namespace, None, limit=1, metadata_only=True, number=1, **kwargs)

    def list(self, resource: str, namespace: str | None = None, *,
             field_selector: str | None = None, metadata_only: bool = False) -> list[dict]:
        """Every object of a list call, page by page (`limit` + `continue`). A continue
        token that expires mid-way (410) restarts the list once, as client-go's pager
        does; any other error fails the whole list: a partial list is never returned."""
        for attempt in (1, 2):
            try:
                return self._walk(resource, namespace, field_selector, metadata_only)
            except _Expired:
                if attempt == 2:
                    raise ConnectorError(
                        f"Listing {_what(resource, namespace)} kept expiring mid-way (410 "
                        "Gone); the cluster changes faster than one page is read. Retry, "
                        "or raise page_size.") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _walk(self, resource, namespace, field_selector, metadata_only) -> list[dict]:
        items: list[dict] = []
        token, number = None, 0
        while True:
            number += 1
            page = self._page(resource, namespace, token, limit=self.page_size,
                              metadata_only=metadata_only, number=number,
                              field_selector=field_selector)
            items.extend(page["items"])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def _page(self, resource: str, namespace: str | None, token: str | None, *, limit: int,
              metadata_only: bool, number: int, field_selector: str | None = None) -> dict:
        api_name, all_method, ns_method = RESOURCES[resource]
        api = self._api(api_name)
        kwargs: dict = {"limit": limit}
        if token:
            kwargs["_continue"] = token
        if field_selector:
            kwargs["field_selector"] = field_selector
        if metadata_only:
            kwargs["_headers"] = {"Accept": METADATA_ONLY}
        if namespace:
            call: Callable = lambda **kw: getattr(api, ns_method)(namespace, **kw)  # noqa: E731
        else:
            call = getattr(api, all_method)
        what = _what(resource, namespace) + (f" (page {number})" if number > 1 else "")
        page = self._json(resource, lambda **kw: call(**kwargs, **kw), what, continued=bool(token))
        if not isinstance(page.get("items"), list):
            raise ConnectorError(f"Kubernetes API returned a malformed list for {what}: "
                                 "no 'items' array.")
        if any(not isinstance(item, dict) for item in page["items"]):
            raise ConnectorError(f"Kubernetes API returned a malformed list for {what}: "
                                 "an item is not an object.")
        if resource == "secrets":
            page["items"] = [scrub_secret(item) for item in page["items"]]
        return page

    def _json(self, resource: str, call: Callable, what: str, continued: bool = False) -> dict:
        body = self._raw(resource, call, what, continued)
        try:
            page = json.loads(body)
        except ValueError as exc:
            raise ConnectorError(
                f"Kubernetes API at {self.host} returned malformed JSON for {what}: {exc}."
            ) from None
        finally:
            del body  # for secrets this held every value of the page; let it go now
        if not isinstance(page, dict):
            raise ConnectorError(f"Kubernetes API returned malformed data for {what}: "
                                 "expected a JSON object.")
        return page

    def _raw(self, resource: str, call: Callable, what: str, continued: bool) -> bytes:
        import urllib3
        from kubernetes.client.exceptions import ApiException

        try:
            return call(_preload_content=False, _request_timeout=self.timeout).data
        except ApiException as exc:
            if exc.status == 410 and continued:
                raise _Expired from None
            raise api_error(exc.status, exc.reason, exc.body, what, resource, self.host) \
                from None
        except urllib3.exceptions.HTTPError as exc:
            raise transport_error(exc, self.host) from None
        except (ValueError, TypeError) as exc:
            # http.client quotes a bad header value (the bearer token) in its message:
            # name the failure, never repeat the message.
            raise BadConfig(
                f"Kubernetes client could not send the request for {what} "
                f"({type(exc).__name__}): check the credentials file for stray characters."
            ) from None


def _what(resource: str, namespace: str | None) -> str:
    return f"{resource} in namespace {namespace!r}" if namespace else f"{resource} (all namespaces)"


def _status_message(body) -> str:
    try:
        return str(json.loads(body).get("message") or "").strip()
    except (ValueError, TypeError, AttributeError):
        return ""


def api_error(status, reason, body, what: str, resource: str, host: str) -> ConnectorError:
    """A ConnectorError for an HTTP error answer, quoting the API's Status message."""
    message = _status_message(body)
    detail = f": {message}" if message else ""
    if status == 401:
        return AccessDenied(
            f"Kubernetes API at {host} rejected the credentials (401 Unauthorized) while "
            f"reading {what}. Check the token file or the kubeconfig user; a projected "
            "token may have expired.")
    if status == 403:
        return AccessDenied(
            f"Kubernetes API at {host} denied reading {what} (403 Forbidden){detail}. "
            f"Grant the discovery account get/list on {resource}.")
    if status == 404:
        return BadConfig(f"Kubernetes API at {host} has no {what} (404 Not Found){detail}.")
    return ConnectorError(
        f"Kubernetes API at {host} failed reading {what}: HTTP {status} {reason or ''}"
        f"{detail}".rstrip() + ".")


def transport_error(exc: Exception, host: str) -> Unreachable:
    import urllib3

    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, urllib3.exceptions.SSLError) or "CERTIFICATE_VERIFY" in str(reason):
        return Unreachable(
            f"TLS verification of the Kubernetes API at {host} failed: check ca_file (or the "
            "kubeconfig's certificate-authority) matches the cluster CA.")
    return Unreachable(f"Cannot reach the Kubernetes API at {host}: "
                       f"{type(reason).__name__}. Check host, port and network access.")


def _build_client(config: dict):
    """(ApiClient, host) from kubeconfig, from host + mounted token file, or in-cluster."""
    if config.get("kubeconfig"):
        return _from_kubeconfig(config["kubeconfig"], config.get("context"))
    host = config.get("host")
    token_file, ca_file = config.get("token_file"), config.get("ca_file")
    if not host:
        env_host, port = (os.environ.get("KUBERNETES_SERVICE_HOST"),
                          os.environ.get("KUBERNETES_SERVICE_PORT", "443"))
        if not env_host:
            raise BadConfig("Kubernetes: set 'kubeconfig', or 'host' with 'token_file', or run "
                            "inside the cluster (KUBERNETES_SERVICE_HOST is not set).")
        host = f"https://{env_host}:{port}" if ":" not in env_host else \
            f"https://[{env_host}]:{port}"
        ca_file = ca_file or IN_CLUSTER_CA
    return _from_token_file(host, token_file or IN_CLUSTER_TOKEN, ca_file,
                            config.get("verify_ssl", True)), host


def _read_token(path: str) -> str:
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise BadConfig(f"Kubernetes: cannot read token_file {path!r}: {exc.strerror}.") \
            from None
    if not token:
        raise BadConfig(f"Kubernetes: token_file {path!r} is empty.")
    return token


def _from_token_file(host: str, token_file: str, ca_file: str | None, verify_ssl: bool):
    from kubernetes import client

    if urlparse(host).scheme not in ("https", "http"):
        raise BadConfig(f"Kubernetes: host {host!r} must be an https:// URL.")
    if ca_file and not Path(ca_file).is_file():
        raise BadConfig(f"Kubernetes: ca_file {ca_file!r} does not exist.")
    conf = client.Configuration(host=host.rstrip("/"))
    conf.api_key = {"authorization": _read_token(token_file)}
    conf.api_key_prefix = {"authorization": "Bearer"}

    # Projected tokens are rotated by the kubelet while we run: re-read the file each call.
    def refresh(c) -> None:
        c.api_key["authorization"] = _read_token(token_file)

    conf.refresh_api_key_hook = refresh
    conf.ssl_ca_cert = ca_file or None
    conf.verify_ssl = bool(verify_ssl)
    conf.retries = 1
    return client.ApiClient(configuration=conf)


def _from_kubeconfig(path: str, context: str | None):
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    if not Path(path).is_file():
        raise BadConfig(f"Kubernetes: kubeconfig {path!r} does not exist.")
    conf = client.Configuration()
    try:
        # persist_config=False: never write refreshed credentials back into the file.
        api = config.new_client_from_config(config_file=path, context=context or None,
                                            persist_config=False, client_configuration=conf)
    except (ConfigException, ValueError, OSError) as exc:
        raise BadConfig(f"Kubernetes: cannot use kubeconfig {path!r}"
                        f"{f' context {context!r}' if context else ''}: {exc}") from None
    # The loader keeps a token file's trailing newline, which no HTTP header may carry, and
    # its refresh hook puts the token back (and re-installs itself) before every call:
    # strip after it, and keep this wrapper installed.
    loader_hook = conf.refresh_api_key_hook

    def refresh(c) -> None:
        if loader_hook:
            loader_hook(c)
            c.refresh_api_key_hook = refresh
        c.api_key = {k: v.strip() if isinstance(v, str) else v for k, v in c.api_key.items()}

    refresh(conf)
    conf.refresh_api_key_hook = refresh
    conf.retries = 1
    return api, conf.host


def b64decode(value: str) -> bytes:
    """Secret data values are base64; a bad value yields b"" (reported by the caller)."""
    try:
        return base64.b64decode(value or "", validate=True)
    except (ValueError, TypeError):
        return b""
