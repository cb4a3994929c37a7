"""AWS IAM connector: IAM users (with access keys and console passwords), IAM roles as
workload identities (with their trust), and IAM server certificates.

How it reads one account (the API calls are few on purpose, for accounts with thousands
of users and roles):

1. `sts:GetCallerIdentity` names the account.
2. `iam:GetAccountAuthorizationDetails` (paginated) returns every user, group, role and
   customer managed policy *with* policy documents, so privileges are computed without a
   call per user, group or policy. AWS managed policies in use are read once each
   (`GetPolicy` + `GetPolicyVersion`), except the well-known admin and read-only ones.
3. `iam:ListUsers` (paginated) adds `PasswordLastUsed`, which the details lack.
4. Per user, in a small thread pool: `ListAccessKeys`, `GetAccessKeyLastUsed` per key,
   `GetLoginProfile` (console password present or not) and `ListMFADevices`.
5. `ListServerCertificates` and `GetServerCertificate` (public body only) per certificate.

Decisions:

* With `assume_role_arns`, only those accounts are read (add the base account's own role
  to read it too); each is entered with `sts:AssumeRole`, session name
  "nhigov-discovery", on refreshable credentials so a long run outlives the session.
* If `GetAccountAuthorizationDetails` is denied, users and roles still come from
  `ListUsers` / `ListRoles`, but with privilege "unknown", no tags and no role last use;
  `attributes.policies_readable` says so. Any other denial fails the run.
* A user deleted while the run is under way is skipped (it is gone, so the next run
  marks it missing). A record missing fields AWS always sends (ARN, name) raises
  `ConnectorError` naming it: the run fails rather than silently losing an identity.
* A user with neither a console password nor an active access key cannot authenticate
  and is reported `disabled`. A console password is also listed as a credential (kind
  "password", id "<UserId>:console-password") so its age and last use are visible.
* Roles trusted through SAML are reported `interactive_login` (people using SSO);
  `attributes.trust.oidc_sub_restricted` is True when no OIDC provider is trusted.
* Server certificates: expiry, fingerprint, key type and size come from the public
  certificate body (AWS's Expiration only when the body does not parse); privilege stays
  "unknown" since a certificate holds no IAM permissions.
* Privilege rules live in `aws_policy.py`; record shaping in `aws_records.py`.
* Secrets are never read: the read APIs used never return secret access keys or
  passwords, and STS session credentials stay inside boto3.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from inventory.connectors.aws_errors import is_code, record_guard, translated
from inventory.connectors.aws_policy import (
    as_list,
    is_aws_admin_policy,
    is_aws_read_only_policy,
    managed_policy_level,
)
from inventory.connectors.aws_records import (
    AccountIndex,
    UserExtras,
    certificate_record,
    role_record,
    user_record,
)
from inventory.connectors.base import (
    AccessDenied,
    BadConfig,
    CheckResult,
    Connector,
    ConnectorError,
    IdentityRecord,
    Param,
    register,
)

logger = logging.getLogger(__name__)

SESSION_NAME = "nhigov-discovery"
WORKERS = 8  # parallel per-user calls; IAM throttles beyond a few dozen requests a second
PAGE = {"PageSize": 1000}  # the largest page IAM serves
DETAILS = ["User", "Role", "Group", "LocalManagedPolicy"]  # AWS managed ones: see below
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


@dataclass
class Account:
    """A boto3 session for one AWS account, and the role ARN used to enter it (if any)."""

    session: object
    role_arn: str = ""


@register
class AwsConnector(Connector):
    """Reads IAM users, roles and server certificates from one or more AWS accounts."""

    name = "aws"
    title = "AWS IAM"
    params = [
        Param("region", "AWS region for STS (IAM itself is global), e.g. eu-west-1.",
              default="us-east-1"),
        Param("endpoint_url", "Custom endpoint for IAM and STS (VPC endpoint, test server)."),
        Param("assume_role_arns", "Role ARNs to assume, one per account to read "
              "(list, or text separated by commas/newlines). Empty: the credentials' account."),
        Param("credentials_profile", "Named profile from a mounted ~/.aws (not a secret)."),
        Param("connect_timeout", "Seconds to wait for a connection.", default=10),
        Param("max_attempts", "Attempts per call, retries included (throttling).", default=5),
    ]
    auth = (
        "The default AWS credential chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY "
        "(+ AWS_SESSION_TOKEN) in the environment, AWS_PROFILE or `credentials_profile` with "
        "a mounted ~/.aws, or the platform identity (instance/task role, EKS IRSA or Pod "
        "Identity). With assume_role_arns those credentials call sts:AssumeRole (session "
        f"{SESSION_NAME!r}) into each account. Needs read-only IAM: the SecurityAudit "
        "managed policy covers every call."
    )

    @classmethod
    def validate(cls, config: dict) -> dict:
        config = super().validate(config)
        for param in cls.params:  # an empty form field means "the default"
            if config[param.name] in (None, ""):
                config[param.name] = param.default
        problems = []
        arns = config["assume_role_arns"] or []
        if isinstance(arns, str):
            arns = [a for a in re.split(r"[\s,]+", arns) if a]
        config["assume_role_arns"] = [str(a).strip() for a in as_list(arns)]
        problems += [f"{a!r} is not an IAM role ARN" for a in config["assume_role_arns"]
                     if not ROLE_ARN.match(a)]
        if not REGION.match(str(config["region"] or "")):
            problems.append(f"region {config['region']!r} is not an AWS region name")
        url = config["endpoint_url"] or ""
        if url and not re.match(r"^https?://[^\s/]+", url):
            problems.append(f"endpoint_url {url!r} must start with http:// or https://")
        for name in ("connect_timeout", "max_attempts"):
            value = str(config[name]).strip()
            if not value.isdigit() or int(value) < 1:
                problems.append(f"{name!r} must be a positive whole number")
            else:
                config[name] = int(value)
        if problems:
            raise BadConfig(f"{cls.title}: " + "; ".join(problems))
        return config

    # --- sessions and clients -------------------------------------------------------

    def _client(self, session, service: str):
        from botocore.config import Config

        config = Config(
            connect_timeout=self.config["connect_timeout"], read_timeout=120,
            retries={"max_attempts": self.config["max_attempts"], "mode": "standard"},
            max_pool_connections=WORKERS * 2, user_agent_extra=SESSION_NAME)
        return session.client(service, region_name=self.config["region"],
                              endpoint_url=self.config["endpoint_url"] or None, config=config)

    def _base_session(self):
        import boto3

        with translated("loading AWS credentials"):
            return boto3.session.Session(profile_name=self.config["credentials_profile"] or None,
                                         region_name=self.config["region"])

    def _assumed_session(self, base, role_arn: str):
        import boto3
        import botocore.session
        from botocore.credentials import RefreshableCredentials

        sts = self._client(base, "sts")

        def fetch() -> dict:
            creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)
            creds = creds["Credentials"]
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"],
                    "expiry_time": creds["Expiration"].isoformat()}

        with translated(f"assuming role {role_arn}"):
            credentials = RefreshableCredentials.create_from_metadata(
                metadata=fetch(), refresh_using=fetch, method="sts-assume-role")
        core = botocore.session.get_session()
        # botocore has no public setter for refreshable credentials; this is the usual idiom.
        core._credentials = credentials
        return boto3.session.Session(botocore_session=core, region_name=self.config["region"])

    def _accounts(self) -> Iterator[Account]:
        """One session per account, assumed lazily so a bad ARN fails where it is used."""
        base = self._base_session()
        if not self.config["assume_role_arns"]:
            yield Account(base)
        for arn in self.config["assume_role_arns"]:
            yield Account(self._assumed_session(base, arn), arn)

    # --- check ----------------------------------------------------------------------

    def check(self) -> CheckResult:
        try:
            seen = [self._check_account(account) for account in self._accounts()]
        except ConnectorError as exc:
            return CheckResult(ok=False, summary=str(exc), error_kind=exc.kind)
        parts = [f"account {s['account']} as {s['arn']}; {s['users']} users, "
                 f"{s['roles']} roles visible" for s in seen]
        prefix = "Connected to " if len(seen) == 1 else f"Connected to {len(seen)} accounts: "
        return CheckResult(ok=True, summary=prefix + " | ".join(parts), details={"accounts": seen})

    def _check_account(self, account: Account) -> dict:
        where = f" in {account.role_arn}" if account.role_arn else ""
        sts, iam = self._client(account.session, "sts"), self._client(account.session, "iam")
        with translated(f"calling sts:GetCallerIdentity{where}"):
            caller = sts.get_caller_identity()
        with translated(f"listing IAM users and roles{where}"):
            users = sum(len(p["Users"]) for p in _pages(iam, "list_users"))
            roles = sum(len(p["Roles"]) for p in _pages(iam, "list_roles"))
        return {"account": caller["Account"], "arn": caller["Arn"], "users": users,
                "roles": roles, "role_arn": account.role_arn}

    # --- read -----------------------------------------------------------------------

    def read(self) -> Iterator[IdentityRecord]:
        for account in self._accounts():
            yield from self._read_account(account)

    def _read_account(self, account: Account) -> Iterator[IdentityRecord]:
        iam = self._client(account.session, "iam")
        where = f" in {account.role_arn}" if account.role_arn else ""
        with translated(f"calling sts:GetCallerIdentity{where}"):
            account_id = self._client(account.session, "sts").get_caller_identity()["Account"]
        index, users, roles = _authorization_details(iam, account_id)
        yield from _user_records(iam, users, index)
        for role in roles:
            with record_guard("IAM role", role, account_id):
                record = role_record(role, index)
            yield record
        yield from _certificate_records(iam, account_id)


# --- helpers (module level so they stay small and testable) ----------------------------

def _pages(client, operation: str, **kwargs) -> Iterable[dict]:
    return client.get_paginator(operation).paginate(**kwargs, PaginationConfig=PAGE)


def _authorization_details(iam, account_id: str) -> tuple[AccountIndex, list, list]:
    """(index of groups and policy levels, user details, role details)."""
    index = AccountIndex(account_id)
    users, roles = [], []
    try:
        with translated(f"reading IAM authorization details of account {account_id}"):
            for page in _pages(iam, "get_account_authorization_details", Filter=DETAILS):
                users += page.get("UserDetailList", [])
                roles += page.get("RoleDetailList", [])
                index.groups.update((g["GroupName"], g) for g in page.get("GroupDetailList", []))
                index.policy_levels.update(_policy_levels(page.get("Policies", [])))
    except AccessDenied as exc:
        logger.warning("%s; privileges will be unknown", exc)
        index.readable = False
        users, roles = _listed(iam, account_id)
    else:
        _judge_aws_managed(iam, index, users + roles + list(index.groups.values()))
        _merge_password_last_used(iam, users, account_id)
    return index, users, roles


def _policy_levels(policies: list[dict]) -> Iterator[tuple[str, str]]:
    # Only the default version is in force; documents are dropped once judged.
    for policy in policies:
        versions = policy.get("PolicyVersionList") or []
        default = next((v for v in versions if v.get("IsDefaultVersion")), None)
        yield policy["Arn"], managed_policy_level(policy["Arn"], (default or {}).get("Document"))


def _judge_aws_managed(iam, index: AccountIndex, principals: list[dict]) -> None:
    """Levels of the AWS managed policies in use. The details are asked for customer
    policies only: AWS's own catalogue holds over a thousand documents (megabytes per
    account), while an account attaches a few dozen of them at most."""
    arns = {p["PolicyArn"] for principal in principals
            for p in principal.get("AttachedManagedPolicies") or []}
    for arn in sorted(arns - index.policy_levels.keys()):
        index.policy_levels[arn] = managed_policy_level(arn, _default_document(iam, arn))


def _default_document(iam, arn: str) -> dict | None:
    if is_aws_admin_policy(arn) or is_aws_read_only_policy(arn):
        return None  # judged by name, no call needed
    with translated(f"reading managed policy {arn}"):
        try:
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            answer = iam.get_policy_version(PolicyArn=arn, VersionId=version)
        except Exception as exc:
            if is_code(exc, "NoSuchEntity"):
                return None  # deleted meanwhile: unknown
            raise
    return answer["PolicyVersion"].get("Document")


def _listed(iam, account_id: str) -> tuple[list, list]:
    """The degraded path: names, paths, dates and trust only."""
    with translated(f"listing IAM users and roles of account {account_id}"):
        users = [u for p in _pages(iam, "list_users") for u in p["Users"]]
        roles = [r for p in _pages(iam, "list_roles") for r in p["Roles"]]
    return users, roles


def _merge_password_last_used(iam, users: list[dict], account_id: str) -> None:
    """The authorization details lack PasswordLastUsed; ListUsers has it in bulk."""
    if users:
        with translated(f"listing IAM users of account {account_id}"):
            used = {u["UserName"]: u.get("PasswordLastUsed")
                    for p in _pages(iam, "list_users") for u in p["Users"]}
        for user in users:
            user["PasswordLastUsed"] = used.get(user["UserName"])


def _user_records(iam, users: list[dict], index: AccountIndex) -> Iterator[IdentityRecord]:
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="nhigov-aws")
    try:
        for detail, extras in zip(users, pool.map(lambda u: _user_extras(iam, u), users),
                                  strict=True):
            if extras is None:
                continue  # deleted since the authorization details were read
            with record_guard("IAM user", detail, index.account_id):
                record = user_record(detail, extras, index)
            yield record
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _user_extras(iam, user: dict) -> UserExtras | None:
    name = user.get("UserName", "")
    with translated(f"reading credentials of IAM user {name!r}"):
        try:
            keys = [k for p in _pages(iam, "list_access_keys", UserName=name)
                    for k in p["AccessKeyMetadata"]]
            mfa = sum(len(p["MFADevices"]) for p in _pages(iam, "list_mfa_devices",
                                                              UserName=name))
        except Exception as exc:
            if is_code(exc, "NoSuchEntity"):
                return None  # the user itself is gone
            raise
        keys = [k for k in keys if _add_last_used(iam, k)]
        return UserExtras(access_keys=keys, login_profile=_login_profile(iam, name),
                          mfa_devices=mfa, password_last_used=user.get("PasswordLastUsed"))


def _add_last_used(iam, key: dict) -> bool:
    """Attach the key's last use; False when the key was deleted meanwhile."""
    try:
        answer = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    except Exception as exc:
        if is_code(exc, "NoSuchEntity"):
            return False
        raise
    key["LastUsed"] = answer.get("AccessKeyLastUsed") or {}
    return True


def _login_profile(iam, name: str) -> dict | None:
    try:
        return iam.get_login_profile(UserName=name)["LoginProfile"]
    except Exception as exc:
        if is_code(exc, "NoSuchEntity"):  # no console password
            return None
        raise


def _certificate_records(iam, account_id: str) -> Iterator[IdentityRecord]:
    with translated(f"listing IAM server certificates of account {account_id}"):
        metas = [m for p in _pages(iam, "list_server_certificates")
                 for m in p["ServerCertificateMetadataList"]]
    for meta in metas:
        name = meta.get("ServerCertificateName", "")
        with translated(f"reading IAM server certificate {name!r}"):
            try:
                cert = iam.get_server_certificate(ServerCertificateName=name)
            except Exception as exc:
                if is_code(exc, "NoSuchEntity"):
                    continue  # deleted meanwhile
                raise
        cert = cert["ServerCertificate"]
        with record_guard("IAM server certificate", meta, account_id):
            record = certificate_record(meta, cert.get("CertificateBody", ""),
                                        cert.get("Tags") or [], account_id)
        yield record
