"""Talking to Vault / OpenBao for the vault connector: login, error translation, and the
small parsers (timestamps, durations, owner hints) every reader shares.

The token never leaves this module's `open_vault`: it is read from the environment
variable or file the source names (or obtained by an AppRole login whose role-id and
secret-id come from such variables/files) and handed to hvac. Error messages name paths
and Vault's error text, never a token.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import UTC, datetime, timedelta

from inventory.connectors.base import AccessDenied, BadConfig, ConnectorError, Unreachable

# Vault's "no time" value (e.g. a secret-id without TTL has this expiration_time).
_ZERO_YEAR = 1
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|h|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6,
                   "ns": 1e-9}

# Metadata keys (KV custom_metadata, token meta, secret-id metadata) -> owner hint keys.
_HINT_KEYS = {
    "owner": "owner", "technical_owner": "technical_owner", "tech_owner": "technical_owner",
    "business_owner": "business_owner", "backup_owner": "backup_owner", "team": "team",
    "purpose": "purpose", "zone": "zone", "workload": "workload",
    "change_ticket": "change_ticket", "ticket": "change_ticket",
    "env": "environment", "environment": "environment",
}


def parse_time(value: object) -> datetime | None:
    """RFC 3339 (nanosecond precision, as Vault writes it) or Unix seconds -> aware UTC
    datetime; Vault's zero time, empty values and garbage -> None."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    text = str(value).strip().replace("Z", "+00:00")
    # Python parses at most microseconds: cut the fraction to six digits.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.year <= _ZERO_YEAR:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_duration(value: object) -> timedelta | None:
    """Seconds (int) or a Go duration string ("768h0m0s") -> timedelta; 0 -> None."""
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        parts = _DURATION_PART.findall(str(value or ""))
        seconds = sum(float(n) * _DURATION_UNITS[unit] for n, unit in parts)
    return timedelta(seconds=seconds) if seconds > 0 else None


def owner_hints_from(metadata: object) -> dict:
    """Owner hints from free-form metadata: only the keys we know, values as strings."""
    if not isinstance(metadata, dict):
        return {}
    hints = {}
    for key, value in metadata.items():
        hint = _HINT_KEYS.get(str(key).strip().lower().replace("-", "_"))
        if hint and value not in (None, "") and hint not in hints:
            hints[hint] = str(value).strip()
    return hints


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _reason(exc: Exception) -> str:
    """Vault's error text, one line (hvac puts the errors list and the URL in str())."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list | tuple) and errors:
        text = "; ".join(str(e) for e in errors)
    else:
        text = str(exc)
    text = re.sub(r"\d+ errors? occurred:", "", text)
    return " ".join(text.replace("*", " ").split()).strip(" ,") or type(exc).__name__


class Vault:
    """A thin, error-translating wrapper over an authenticated hvac client.

    `list`/`read`/`post` return the response's `data` (None when the path does not exist)
    and turn hvac/requests exceptions into the connector errors analysts see. With
    `optional=True` a permission denial returns None instead: for what is read only
    "where permitted"."""

    def __init__(self, client, url: str):
        self.client = client
        self.url = url
        self.last_path = ""  # named in errors about data the connector cannot use

    def list(self, path: str, *, optional: bool = False) -> list[str] | None:
        data = self._call("list", path, optional, lambda: self.client.list(path))
        if data is None:
            return None
        return [str(k) for k in data.get("keys") or []]

    def read(self, path: str, *, optional: bool = False) -> dict | None:
        return self._call("read", path, optional, lambda: self.client.read(path))

    def post(self, path: str, data: dict, *, optional: bool = False) -> dict | None:
        """POST for lookups Vault exposes as writes (accessor lookups). An accessor that
        vanished between listing and lookup (expired, revoked) gives None."""
        return self._call("look up", path, optional,
                          lambda: self.client.adapter.post(f"/v1/{path}", json=data),
                          vanished_ok=True)

    def _call(self, verb: str, path: str, optional: bool, fn,
              vanished_ok: bool = False) -> dict | None:
        import hvac.exceptions as hv

        self.last_path = path
        try:
            response = fn()
        except hv.InvalidRequest as exc:
            if vanished_ok and "invalid accessor" in str(exc).lower():
                return None
            raise translate(exc, self.url, f"{verb} '{path}'") from exc
        except (hv.Forbidden, hv.Unauthorized) as exc:
            if optional:
                return None
            raise AccessDenied(f"Vault at {self.url} denied {verb} on '{path}': "
                               f"{_reason(exc)}. Grant the connector's policy access to "
                               "this path.") from exc
        except hv.InvalidPath:
            return None
        except Exception as exc:
            raise translate(exc, self.url, f"{verb} '{path}'") from exc
        if response is None:
            return None
        data = response.get("data") if isinstance(response, dict) else None
        if not isinstance(data, dict):
            # Not Vault's JSON (a proxy's HTML page, another service): reading on would
            # yield an empty "successful" run and make the register look emptied.
            raise ConnectorError(f"Vault at {self.url} answered {verb} '{path}' with "
                                 f"something that is not a Vault response "
                                 f"({_describe(response)}): check the URL.")
        return data

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a session is best effort
            self.client.adapter.close()


def _describe(response: object) -> str:
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"HTTP {status}, {response.headers.get('Content-Type') or 'no content type'}"
    return f"JSON without a 'data' object: {type(response).__name__}"


def translate(exc: Exception, url: str, doing: str) -> ConnectorError:
    """The connector error for an exception raised while talking to Vault."""
    import hvac.exceptions as hv
    import requests

    if isinstance(exc, ConnectorError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        return Unreachable(f"TLS handshake with Vault at {url} failed ({doing}): check "
                           "'ca_file' / 'verify' and the server certificate.")
    if isinstance(exc, requests.exceptions.RequestException):
        return Unreachable(f"Cannot reach Vault at {url} ({doing}): {type(exc).__name__}. "
                           "Check the URL, the network path and that Vault is running.")
    if isinstance(exc, hv.Forbidden | hv.Unauthorized):
        return AccessDenied(f"Vault at {url} denied {doing}: {_reason(exc)}. Check that "
                            "the token is valid and its policies allow this.")
    if isinstance(exc, hv.VaultDown):
        return Unreachable(f"Vault at {url} is sealed or in maintenance ({doing}).")
    if isinstance(exc, hv.VaultError):
        return ConnectorError(f"Vault at {url} failed to {doing}: {_reason(exc)}")
    return ConnectorError(f"Unexpected error talking to Vault at {url} ({doing}): "
                          f"{type(exc).__name__}: {exc}")


def _secret_from(env_name: str | None, file_path: str | None, what: str) -> str:
    """A credential from a mounted file (preferred when given) or an environment variable."""
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as fh:
                value = fh.read().strip()
        except OSError as exc:
            raise BadConfig(f"Cannot read the {what} file {file_path!r}: "
                            f"{exc.strerror or exc}.") from exc
        if not value:
            raise BadConfig(f"The {what} file {file_path!r} is empty.")
        return value
    value = os.environ.get(env_name or "", "").strip()
    if not value:
        raise BadConfig(f"No {what}: environment variable {env_name!r} is not set in the "
                        "worker's environment.")
    return value


def open_vault(config: dict) -> Vault:
    """An authenticated Vault for a validated connector config; raises ConnectorError."""
    import hvac

    url = str(config["url"]).rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise BadConfig(f"'url' must start with http:// or https://, not {url!r}.")
    ca_file = config.get("ca_file")
    if ca_file and not os.path.isfile(ca_file):
        raise BadConfig(f"The CA file {ca_file!r} does not exist.")
    try:
        timeout = float(config.get("timeout") or 30)
    except (TypeError, ValueError) as exc:
        raise BadConfig(f"'timeout' must be a number of seconds, not {config['timeout']!r}.") \
            from exc
    client = hvac.Client(url=url, namespace=config.get("namespace") or None,
                         verify=ca_file or truthy(config.get("verify", True)), timeout=timeout)
    if config.get("role_id_env") or config.get("role_id_file"):
        role_id = _secret_from(config.get("role_id_env"), config.get("role_id_file"),
                               "AppRole role-id")
        secret_id = _secret_from(config.get("secret_id_env"), config.get("secret_id_file"),
                                 "AppRole secret-id")
        mount = str(config.get("approle_mount") or "approle").strip("/")
        try:
            # use_token=True: hvac keeps the issued token on the client; we never see it.
            client.auth.approle.login(role_id=role_id, secret_id=secret_id,
                                      mount_point=mount, use_token=True)
        except Exception as exc:
            if _is_denied(exc):
                raise AccessDenied(f"AppRole login at {url}/v1/auth/{mount}/login was "
                                   "refused: check the role-id and secret-id.") from exc
            raise translate(exc, url, f"log in through AppRole mount '{mount}'") from exc
    else:
        client.token = _secret_from(config.get("token_env"), config.get("token_file"),
                                    "Vault token")
    return Vault(client, url)


def _is_denied(exc: Exception) -> bool:
    import hvac.exceptions as hv

    # Vault answers a bad secret-id with 400 ("invalid role or secret ID"), not 403.
    return isinstance(exc, hv.Forbidden | hv.Unauthorized | hv.InvalidRequest)


def truthy(value: object) -> bool:
    """A boolean parameter that may arrive as a string from a form or JSON config."""
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def as_list(value: object) -> list[str]:
    """A list parameter given as a list or a comma-separated string; mount paths
    lose their surrounding slashes."""
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    return [str(v).strip().strip("/") for v in items if str(v).strip().strip("/")]
