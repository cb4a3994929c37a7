"""A small OpenID Connect provider on loopback for SSO tests.

It serves what allauth's generic `openid_connect` provider uses: the discovery document,
an authorize endpoint that approves at once (the "user" is whatever identity the test
set), a token endpoint that checks the client secret, the redirect URI and the PKCE
verifier and issues an RS256 id_token signed with a key generated per server, userinfo
and the JWKS. Every request is recorded so tests can assert on what the portal sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def _b64int(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    claims: dict


@dataclass
class OIDCProvider:
    """The provider's state; `identity` is the user the next authorize request approves."""

    client_id: str = "nhigov-test"
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    identity: dict = field(default_factory=dict)
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: secrets.token_hex(8))
    grants: dict[str, Grant] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    issuer: str = ""

    def discovery(self) -> dict:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": ["openid", "email", "profile"],
        }

    def jwks(self) -> dict:
        public = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                          "n": _b64int(public.n), "e": _b64int(public.e)}]}

    def authorize(self, query: dict[str, str]) -> str:
        """Approve at once: the URL to send the browser back to, with a one-time code."""
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            raise ValueError("unknown client or response type")
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(query["client_id"], query["redirect_uri"], query.get("nonce"),
                                  query.get("code_challenge"), dict(self.identity))
        params = {"code": code, "state": query.get("state", "")}
        return f"{query['redirect_uri']}?{urlencode(params)}"

    def token(self, form: dict[str, str], basic: tuple[str, str] | None) -> dict:
        client_id, secret = basic or (form.get("client_id"), form.get("client_secret"))
        if client_id != self.client_id or secret != self.client_secret:
            raise PermissionError("invalid_client")
        grant = self.grants.pop(form.get("code", ""), None)  # single use
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            raise PermissionError("invalid_grant")
        if grant.challenge:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != grant.challenge:
                raise PermissionError("invalid_grant")
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant.claims
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": self.client_id, "iat": now, "exp": now + 300,
                  **grant.claims}
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})
        return {"access_token": access, "token_type": "Bearer", "expires_in": 300,
                "id_token": id_token}

    def userinfo(self, authorization: str) -> dict:
        claims = self.tokens.get(authorization.removeprefix("Bearer ").strip())
        if claims is None:
            raise PermissionError("invalid_token")
        return claims


def _handler(provider: OIDCProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def _send(self, status: int, body: dict | None = None, location: str = "") -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            payload = json.dumps(body or {}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            provider.requests.append(("GET", url.path))
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            routes = {
                "/.well-known/openid-configuration": lambda: self._send(200, provider.discovery()),
                "/jwks": lambda: self._send(200, provider.jwks()),
                "/authorize": lambda: self._send(302, location=provider.authorize(query)),
                "/userinfo": lambda: self._send(
                    200, provider.userinfo(self.headers.get("Authorization", ""))),
            }
            self._route(routes, url.path)

        def do_POST(self) -> None:
            url = urlparse(self.path)
            provider.requests.append(("POST", url.path))
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            basic = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                basic = (user, password)
            self._route({"/token": lambda: self._send(200, provider.token(form, basic))},
                        url.path)

        def _route(self, routes: dict, path: str) -> None:
            if path not in routes:
                return self._send(404, {"error": "not_found"})
            try:
                routes[path]()
            except PermissionError as exc:
                self._send(400 if str(exc) != "invalid_token" else 401, {"error": str(exc)})
            except (ValueError, KeyError) as exc:
                self._send(400, {"error": "invalid_request", "detail": str(exc)})

    return Handler


class OIDCServer:
    """Context manager: an OIDCProvider served on 127.0.0.1 by a thread."""

    def __init__(self, provider: OIDCProvider | None = None) -> None:
        self.provider = provider or OIDCProvider()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.provider))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.provider.issuer = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> OIDCServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
