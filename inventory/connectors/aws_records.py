"""Turn IAM API answers (plain dicts as boto3 returns them) into IdentityRecords.

No SDK calls here: `aws.py` fetches, this module only shapes. Nothing secret ever passes
through: IAM never returns secret access keys or passwords from the read APIs used, and
server certificates are read as their public body only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from inventory.connectors.aws_policy import (
    PolicyGrant,
    analyse_trust,
    combined_level,
    document_level,
    is_aws_admin_policy,
    summarise,
)
from inventory.connectors.base import CredentialRecord, IdentityRecord

# Tag keys (compared lower-case, with '-' and ' ' read as '_') -> owner hint keys.
HINT_KEYS = {
    "owner": "owner", "technical_owner": "technical_owner", "tech_owner": "technical_owner",
    "business_owner": "business_owner", "backup_owner": "backup_owner", "team": "team",
    "purpose": "purpose", "zone": "zone", "workload": "workload",
    "change_ticket": "change_ticket", "environment": "environment", "env": "environment",
}


@dataclass
class UserExtras:
    """Per-user facts GetAccountAuthorizationDetails does not carry."""

    access_keys: list[dict] = field(default_factory=list)  # with a "LastUsed" sub-dict
    login_profile: dict | None = None
    mfa_devices: int = 0
    password_last_used: datetime | None = None


@dataclass
class AccountIndex:
    """What one account's authorization details say about groups and managed policies,
    so every user and role is judged without another API call."""

    account_id: str
    groups: dict[str, dict] = field(default_factory=dict)
    policy_levels: dict[str, str] = field(default_factory=dict)  # policy ARN -> level
    readable: bool = True  # False when the authorization details were denied


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value else None


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "-", value.strip().lower()).strip("-")[:40]


def from_tags(tags: list[dict] | None) -> tuple[list[str], dict, dict, str]:
    """(register tags "key=value", tag dict, owner hints, environment slug)."""
    as_dict = {str(t.get("Key", "")): str(t.get("Value", "")) for t in tags or []}
    hints: dict[str, str] = {}
    for key, value in as_dict.items():
        hint = HINT_KEYS.get(re.sub(r"[-\s]", "_", key.strip().lower()))
        if hint and value.strip():
            hints.setdefault(hint, value.strip())
    listed = sorted(f"{k}={v}" if v else k for k, v in as_dict.items())
    return listed, as_dict, hints, slug(hints.get("environment", ""))


def _managed(index: AccountIndex, policies: list[dict], via: str) -> list[PolicyGrant]:
    grants = []
    for policy in policies or []:
        arn, name = policy.get("PolicyArn", ""), policy.get("PolicyName", "")
        # A policy absent from the details (or details denied) is unknown, except the
        # well-known admin ones whose name says it all.
        level = "admin" if is_aws_admin_policy(arn) else index.policy_levels.get(arn, "unknown")
        grants.append(PolicyGrant(name=name, via=via, level=level, arn=arn))
    return grants


def _inline(policies: list[dict], via: str) -> list[PolicyGrant]:
    return [PolicyGrant(name=p.get("PolicyName", ""), via=via,
                        level=document_level(p.get("PolicyDocument"))) for p in policies or []]


def user_grants(detail: dict, index: AccountIndex) -> list[PolicyGrant]:
    grants = _managed(index, detail.get("AttachedManagedPolicies"), "attached")
    grants += _inline(detail.get("UserPolicyList"), "inline")
    for group_name in detail.get("GroupList") or []:
        group = index.groups.get(group_name, {})
        grants += _managed(index, group.get("AttachedManagedPolicies"), f"group {group_name}")
        grants += _inline(group.get("GroupPolicyList"), f"group {group_name} inline")
    return grants


def role_grants(detail: dict, index: AccountIndex) -> list[PolicyGrant]:
    return _managed(index, detail.get("AttachedManagedPolicies"), "attached") + \
        _inline(detail.get("RolePolicyList"), "inline")


def _privilege(grants: list[PolicyGrant], index: AccountIndex) -> tuple[str, str, list]:
    level = combined_level(grants, index.readable)
    return level, summarise(level, grants, index.readable), [g.as_dict() for g in grants]


def access_key_credential(key: dict) -> CredentialRecord:
    used = key.get("LastUsed") or {}
    # Never-used keys report ServiceName/Region "N/A" and no date.
    known = {k: v for k, v in (("service", used.get("ServiceName")),
                                ("region", used.get("Region"))) if v and v != "N/A"}
    return CredentialRecord(
        kind="access_key", external_id=key["AccessKeyId"],
        created_at_source=utc(key.get("CreateDate")), last_used_at=utc(used.get("LastUsedDate")),
        status="active" if key.get("Status") == "Active" else "inactive", attributes=known)


def _password_credential(detail: dict, extras: UserExtras) -> CredentialRecord:
    profile = extras.login_profile or {}
    return CredentialRecord(
        kind="password", external_id=f"{detail.get('UserId') or detail['Arn']}:console-password",
        created_at_source=utc(profile.get("CreateDate")),
        last_used_at=utc(extras.password_last_used),
        attributes={"password_reset_required": bool(profile.get("PasswordResetRequired"))})


def _user_auth(has_password: bool, active_keys: list[CredentialRecord]) -> tuple[str, str]:
    """(auth method, status): a user with neither a console password nor an active access
    key cannot authenticate at all, which the register shows as disabled."""
    if has_password:
        return "password", "active"
    return ("static_secret", "active") if active_keys else ("unknown", "disabled")


def user_record(detail: dict, extras: UserExtras, index: AccountIndex) -> IdentityRecord:
    """One IAM user with its access keys (and console password, as a credential)."""
    keys = [access_key_credential(k) for k in extras.access_keys]
    active = [k for k in keys if k.status == "active"]
    has_password = extras.login_profile is not None
    credentials = keys + ([_password_credential(detail, extras)] if has_password else [])
    used = [d for d in [utc(extras.password_last_used)] + [k.last_used_at for k in keys] if d]
    created = [k.created_at_source for k in active if k.created_at_source]
    auth_method, status = _user_auth(has_password, active)
    level, summary, policies = _privilege(user_grants(detail, index), index)
    tags, tag_dict, hints, env = from_tags(detail.get("Tags"))
    return IdentityRecord(
        external_id=detail["Arn"], provider="aws", kind="iam_user", name=detail["UserName"],
        path=detail.get("Path", "/"), environment=env, privilege=level,
        permissions_summary=summary, interactive_login=has_password, auth_method=auth_method,
        created_at_source=utc(detail.get("CreateDate")), last_used_at=max(used, default=None),
        last_rotated_at=max(created, default=None), status=status, tags=tags,
        owner_hints=hints, credentials=credentials,
        attributes={
            "account_id": index.account_id, "arn": detail["Arn"],
            "user_id": detail.get("UserId", ""), "groups": list(detail.get("GroupList") or []),
            "policies": policies, "policies_readable": index.readable,
            "console_password": has_password, "mfa_devices": extras.mfa_devices,
            "password_last_used": iso(extras.password_last_used),
            "access_keys_active": len(active), "access_keys_total": len(keys),
            "permissions_boundary": _boundary(detail), "tags": tag_dict,
        })


def _boundary(detail: dict) -> str:
    return (detail.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", "")


def role_record(detail: dict, index: AccountIndex) -> IdentityRecord:
    """One IAM role as a workload identity: who may assume it, what it may do."""
    trust = analyse_trust(detail.get("AssumeRolePolicyDocument"), index.account_id)
    federated = bool(trust["oidc_providers"])
    level, summary, policies = _privilege(role_grants(detail, index), index)
    tags, tag_dict, hints, env = from_tags(detail.get("Tags"))
    last_used = detail.get("RoleLastUsed") or {}
    path = detail.get("Path", "/")
    return IdentityRecord(
        external_id=detail["Arn"], provider="aws", kind="cloud_role", name=detail["RoleName"],
        path=path, environment=env, privilege=level, permissions_summary=summary,
        # Roles entered through SAML are people signing in to the console (SSO).
        interactive_login=bool(trust["saml_providers"]),
        auth_method="workload_federation" if federated else "short_lived_token",
        created_at_source=utc(detail.get("CreateDate")),
        last_used_at=utc(last_used.get("LastUsedDate")), tags=tags, owner_hints=hints,
        attributes={
            "account_id": index.account_id, "arn": detail["Arn"],
            "role_id": detail.get("RoleId", ""), "trust": trust,
            "trust_policy": detail.get("AssumeRolePolicyDocument"),
            "service_linked": path.startswith("/aws-service-role/"),
            "last_used_region": last_used.get("Region") or "",
            "instance_profiles": sorted(p.get("InstanceProfileName", "")
                                        for p in detail.get("InstanceProfileList") or []),
            "policies": policies, "policies_readable": index.readable,
            "permissions_boundary": _boundary(detail), "tags": tag_dict,
        })


def certificate_record(meta: dict, body: str, tags: list[dict], account_id: str
                       ) -> IdentityRecord:
    """An IAM server certificate, known by the SHA-256 of its (public) body."""
    facts = certificate_facts(body)
    tag_list, tag_dict, hints, env = from_tags(tags)
    # The body is the truth; AWS's Expiration is derived from it (and test servers fake it).
    expires = facts.pop("not_after", None) or utc(meta.get("Expiration"))
    credential = CredentialRecord(
        kind="certificate", external_id=meta["ServerCertificateId"],
        fingerprint=facts.pop("sha256", ""), created_at_source=utc(meta.get("UploadDate")),
        expires_at=expires, key_algorithm=facts.pop("key_algorithm", ""),
        key_size=facts.pop("key_size", None), attributes=dict(facts))
    return IdentityRecord(
        external_id=meta["Arn"], provider="aws", kind="certificate",
        name=meta["ServerCertificateName"], path=meta.get("Path", "/"), environment=env,
        permissions_summary="IAM server certificate (TLS for ELB/CloudFront); no IAM permissions",
        auth_method="certificate", created_at_source=utc(meta.get("UploadDate")),
        expires_at=expires, tags=tag_list, owner_hints=hints, credentials=[credential],
        attributes={"account_id": account_id, "arn": meta["Arn"],
                    "server_certificate_id": meta["ServerCertificateId"],
                    "fingerprint_sha256": credential.fingerprint, **facts, "tags": tag_dict})


def certificate_facts(body: str) -> dict:
    """Fingerprint, subject, issuer, serial, key type and size of a PEM certificate; only
    the SHA-256 of the raw text when it does not parse."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    try:
        cert = x509.load_pem_x509_certificate(body.encode())
    except ValueError:
        return {"sha256": hashlib.sha256(body.encode()).hexdigest(), "parse_error": True}
    key = cert.public_key()
    algorithm = "RSA" if isinstance(key, rsa.RSAPublicKey) else \
        "EC" if isinstance(key, ec.EllipticCurvePublicKey) else type(key).__name__
    der = cert.public_bytes(serialization.Encoding.DER)
    return {"sha256": hashlib.sha256(der).hexdigest(), "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(), "serial": format(cert.serial_number, "x"),
            "key_algorithm": algorithm, "key_size": getattr(key, "key_size", None),
            "not_after": cert.not_valid_after_utc}
