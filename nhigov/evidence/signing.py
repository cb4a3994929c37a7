"""Sign a pack's manifest with the audit checkpoints' key (nhigov.lib.audit_signing).

With an Ed25519 key (AUDIT_SIGNING_KEY_FILE) anyone holding the public key, which the
signature file carries, can check offline that the manifest, and through its hashes every
file, came from this portal unaltered. In HMAC mode the signature is only checkable by
the portal itself; the file says so. The payload's prefix keeps these signatures apart
from checkpoint signatures made with the same key.
"""

from __future__ import annotations

PREFIX = "nhigov-evidence-manifest:v1"


def payload(pack_code: str, manifest_sha256: str) -> bytes:
    """The exact bytes signed; an auditor rebuilds them from the pack to verify."""
    return f"{PREFIX}|{pack_code}|{manifest_sha256}".encode()


def sign_manifest(pack_code: str, manifest_sha256: str) -> dict | None:
    """manifest.sig.json's content, or None when no signer is available."""
    try:
        from nhigov.lib import audit_signing
    except ImportError:  # an installation without checkpoint signing: manifest unsigned
        return None
    signer = audit_signing.current_signer()
    signed = payload(pack_code, manifest_sha256)
    public = audit_signing.public_key_pem()
    return {
        "payload": signed.decode(), "algorithm": signer.algorithm, "key_id": signer.key_id,
        "signature": signer.sign(signed), "public_key_pem": public,
        "verify": ("Ed25519 over the payload's UTF-8 bytes with public_key_pem; the payload "
                   "ends with the SHA-256 of manifest.json." if public else
                   "HMAC-SHA256 with the portal's key: only the portal can check it "
                   "(configure AUDIT_SIGNING_KEY_FILE for third-party verification)."),
    }
