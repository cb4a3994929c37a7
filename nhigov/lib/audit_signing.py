"""Keys and signatures for audit checkpoints.

Ed25519 with the private key in AUDIT_SIGNING_KEY_FILE (PEM, PKCS#8) is the production
mode: an auditor verifies offline with the public key alone (`verify_audit
--print-public-key` exports it). Without a key file the portal still signs, with an
HMAC-SHA256 key derived from SECRET_KEY, and labels those checkpoints "hmac-sha256": they
catch someone who can write to the database but not read the settings, and they cannot be
verified by a third party. The decision is documented in README ("Audit trail").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ED25519 = "ed25519"
HMAC_SHA256 = "hmac-sha256"
# Domain separation: this key signs checkpoints and nothing else derived from SECRET_KEY.
_HMAC_LABEL = b"nhigov.audit.checkpoint.v1"


def checkpoint_payload(last_event_id: int, last_hash: str, event_count: int, at_iso: str) -> bytes:
    """The exact bytes a checkpoint signs; an auditor rebuilds them to verify offline."""
    return f"nhigov-audit-checkpoint:v1|{last_event_id}|{last_hash}|{event_count}|{at_iso}".encode()


@dataclass(frozen=True)
class Signer:
    """The key checkpoints are signed with right now."""

    algorithm: str
    key_id: str
    _private: object

    def sign(self, payload: bytes) -> str:
        if self.algorithm == ED25519:
            return self._private.sign(payload).hex()
        return hmac.new(self._private, payload, hashlib.sha256).hexdigest()


def _ed25519_key_id(public_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _hmac_key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), _HMAC_LABEL, hashlib.sha256).digest()


@cache
def _load_private(path: str):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY_FILE: cannot load {path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY_FILE must hold an Ed25519 private key")
    return key


def current_signer() -> Signer:
    """Ed25519 when AUDIT_SIGNING_KEY_FILE is set, otherwise the SECRET_KEY-derived HMAC."""
    path = getattr(settings, "AUDIT_SIGNING_KEY_FILE", "")
    if path:
        private = _load_private(path)
        return Signer(ED25519, _ed25519_key_id(private.public_key()), private)
    key = _hmac_key()
    # The id is a hash of the derived key: it tells keys apart without revealing one.
    return Signer(HMAC_SHA256, hashlib.sha256(b"id:" + key).hexdigest(), key)


def load_public_key(pem: bytes):
    """Parse an Ed25519 public key (PEM); ValueError when it is anything else."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def public_key_pem() -> str | None:
    """The configured signing key's public half (PEM), or None in HMAC mode."""
    from cryptography.hazmat.primitives import serialization

    path = getattr(settings, "AUDIT_SIGNING_KEY_FILE", "")
    if not path:
        return None
    public = _load_private(path).public_key()
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Verifier:
    """Checks checkpoint signatures against the configured key plus any extra public keys
    (an auditor's copy, or the public halves of keys rotated out)."""

    def __init__(self, extra_public_pems: list[bytes] | None = None) -> None:
        self._ed25519 = {}
        for pem in extra_public_pems or []:
            key = load_public_key(pem)
            self._ed25519[_ed25519_key_id(key)] = key
        path = getattr(settings, "AUDIT_SIGNING_KEY_FILE", "")
        if path:
            public = _load_private(path).public_key()
            self._ed25519[_ed25519_key_id(public)] = public
        self._hmac_key = _hmac_key()

    def check(self, algorithm: str, key_id: str, payload: bytes, signature: str) -> str:
        """Return "" when the signature is good, otherwise why it is not."""
        if algorithm == ED25519:
            return self._check_ed25519(key_id, payload, signature)
        if algorithm == HMAC_SHA256:
            expected = hmac.new(self._hmac_key, payload, hashlib.sha256).hexdigest()
            if hashlib.sha256(b"id:" + self._hmac_key).hexdigest() != key_id:
                return "signed with an HMAC key this portal does not hold"
            return "" if hmac.compare_digest(expected, signature) else "signature invalid"
        return f"unknown signature algorithm {algorithm!r}"

    def _check_ed25519(self, key_id: str, payload: bytes, signature: str) -> str:
        from cryptography.exceptions import InvalidSignature

        key = self._ed25519.get(key_id)
        if key is None:
            return f"signed by unknown Ed25519 key {key_id[:16]} (pass its --public-key)"
        try:
            key.verify(bytes.fromhex(signature), payload)
        except (InvalidSignature, ValueError):
            return "signature invalid"
        return ""


def check_signing_key(app_configs=None, **kwargs) -> list:
    """System check: a configured key file must hold an Ed25519 private key. An unset file
    is not flagged: the HMAC fallback is a documented choice (README, "Audit trail")."""
    from django.core import checks

    path = getattr(settings, "AUDIT_SIGNING_KEY_FILE", "")
    if not path:
        return []
    try:
        _load_private(path)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="nhigov.E101")]
    return []
