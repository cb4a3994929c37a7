"""The demo's AWS accounts as an IAM seed for moto (the parent side of the live demo).

`seed_spec` turns the generator's records into what IAM would hold: users with tags,
access keys (their generated ids, dates, last use and status), console passwords and MFA
devices; roles with the trust policy their record describes (EC2/SageMaker/Lambda
services, EKS and GitHub OIDC with and without a `sub` condition, vendor accounts with
an ExternalId); the policies that give each its privilege; the public certificates as
server certificates; and in each account the `nhigov-discovery` role the connector
assumes. `live_aws_server` (a child process) loads it into moto.

Owners, team, purpose, zone, workload and environment travel as IAM tags, which is
where the aws connector reads them. Tag values keep to IAM's character set.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from inventory.connectors.base import IdentityRecord
from inventory.demo.live_pki import Issued
from inventory.demo.org import ACCOUNTS

BASE_ACCOUNT = "123456789012"  # moto's default: the security tooling account nhigov runs in
READER_ROLE = "nhigov-discovery"
MANAGED = "arn:aws:iam::aws:policy/"
HINT_TAGS = {"technical_owner": "technical-owner", "business_owner": "business-owner",
             "backup_owner": "backup-owner", "team": "team", "purpose": "purpose",
             "zone": "zone", "workload": "workload"}
READER_TAGS = {"team": "security", "technical-owner": "fatima.zahra@aifactory.example",
               "purpose": "nhigov discovery: read-only IAM inventory", "zone": "management"}


def reader_role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{READER_ROLE}"


def seed_spec(records: dict[str, list[IdentityRecord]], certificates: list[Issued],
              pki: Path) -> dict:
    """The whole IAM seed (JSON-able; holds demo certificate keys: write it mode 600)."""
    accounts = []
    for source, (account, env) in ACCOUNTS.items():
        batch = records[source]
        accounts.append({
            "id": account, "reader_role": READER_ROLE,
            "reader_tags": _tags(READER_TAGS | {"environment": env}),
            "reader_created": "2024-01-15T09:00:00+00:00",  # when nhigov was set up
            "trusted_account": BASE_ACCOUNT,
            "users": [_user(r) for r in batch if r.kind == "iam_user"],
            "roles": [_role(r, account) for r in batch if r.kind == "cloud_role"],
            "oidc_providers": sorted({r.attributes["trust"]["oidc_provider"] for r in batch
                                      if r.kind == "cloud_role" and "oidc_provider" in
                                      r.attributes["trust"]}),
            "certificates": [_certificate(c, pki) for c in certificates if c.group == "iam"]
            if source == "aws-prod" else [],
        })
    return {"base_account": BASE_ACCOUNT, "accounts": accounts}


def spec_key(spec: dict) -> str:
    """A short digest of the seed: a running server loaded with the same seed is reused."""
    import hashlib

    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def tag_value(value: str) -> str:
    """IAM tag values allow letters, digits, spaces and _.:/=+-@ only (max 256)."""
    value = value.replace(" (", " - ").replace("(", "").replace(")", "").replace(",", "")
    return re.sub(r"[^\w\s.:/=+\-@]", "", value)[:256].strip()


def _tags(pairs: dict) -> list[dict]:
    return [{"Key": k, "Value": tag_value(str(v))} for k, v in pairs.items()]


def _hint_tags(record: IdentityRecord) -> list[dict]:
    pairs = {HINT_TAGS[k]: v for k, v in record.owner_hints.items() if k in HINT_TAGS}
    pairs |= {"environment": record.environment, "project": "ai-factory"}
    return _tags(pairs)


def _policies(summary: str) -> tuple[list[str], dict[str, dict]]:
    """(AWS managed policy ARNs, inline policies) for a generator permissions summary such
    as "AdministratorAccess, s3:PutObject on aif-*"."""
    managed, inline = [], {}
    for item in filter(None, (p.strip() for p in summary.split(", "))):
        if re.fullmatch(r"[A-Za-z0-9]+", item):
            managed.append(MANAGED + item)
            continue
        action, _, resource = item.partition(" on ")
        if resource and not resource.startswith("*"):
            resource = f"arn:aws:s3:::{resource if '/' in resource else resource + '/*'}"
        name = re.sub(r"[^A-Za-z0-9]+", "-", action).strip("-") or "inline"
        inline[name] = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource or "*"}]}
    return managed, inline


def _user(record: IdentityRecord) -> dict:
    managed, inline = _policies(record.permissions_summary)
    disabled = record.status == "disabled"  # nothing left to sign in with
    keys = [{"id": c.external_id, "created": _when(c.created_at_source),
             "last_used": _when(c.last_used_at),
             "status": "Inactive" if disabled or c.status != "active" else "Active"}
            for c in record.credentials if c.kind == "access_key"]
    password = any(c.kind == "password" for c in record.credentials) and not disabled
    return {"name": record.name, "path": record.path or "/", "tags": _hint_tags(record),
            "created": _when(record.created_at_source), "managed": managed, "inline": inline,
            "keys": keys, "password": password,
            "mfa": bool(password and record.attributes.get("mfa"))}


def _trust(trust: dict, account: str) -> dict:
    if "oidc_provider" in trust:
        host = trust["oidc_provider"]
        conditions = {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}
        if trust.get("subject"):
            key = "StringEquals" if host.startswith("oidc.eks") else "StringLike"
            conditions.setdefault(key, {})[f"{host}:sub"] = trust["subject"]
        statement = {"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                     "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{host}"},
                     "Condition": conditions}
    elif "aws_account" in trust:
        statement = {"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"AWS": f"arn:aws:iam::{trust['aws_account']}:root"},
                     "Condition": {"StringEquals": {"sts:ExternalId": "aif-vendor-link"}}}
    else:
        statement = {"Effect": "Allow", "Action": "sts:AssumeRole",
                     "Principal": {"Service": trust.get("service", "ec2.amazonaws.com")}}
    return {"Version": "2012-10-17", "Statement": [statement]}


def _role(record: IdentityRecord, account: str) -> dict:
    managed, inline = _policies(record.permissions_summary)
    return {"name": record.name, "path": record.path or "/", "tags": _hint_tags(record),
            "created": _when(record.created_at_source), "managed": managed, "inline": inline,
            "trust": _trust(record.attributes.get("trust") or {}, account),
            "last_used": _when(record.last_used_at),
            "max_session": int(record.attributes.get("max_session_hours", 1)) * 3600}


def _certificate_path(issued: Issued) -> str:
    # CloudFront only takes server certificates under /cloudfront/.
    return "/cloudfront/" if issued.name.startswith(("docs", "status")) else "/"


def _certificate(issued: Issued, pki: Path) -> dict:
    return {"name": issued.name, "path": _certificate_path(issued), "body": issued.pem(pki),
            "chain": issued.chain(pki), "key": issued.key(pki)}


def certificate_arn(issued: Issued) -> str:
    """The ARN the aws connector reports as the certificate's external id."""
    return (f"arn:aws:iam::{ACCOUNTS['aws-prod'][0]}:server-certificate"
            f"{_certificate_path(issued)}{issued.name}")
