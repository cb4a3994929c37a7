"""The AWS IAM connector against a real moto server (see servers_aws.py for the seeding).

What moto 5.2 can and cannot show, and what is asserted accordingly:
* Access key last use: moto records it when a request is *signed with that key* (date =
  now, service and region of that request); it cannot be back-dated. Asserted: service
  "sts", region "eu-west-1", a date within this test session.
* Role last use: recorded when assumed-role credentials are used; moto keeps no region.
* PasswordLastUsed: moto's ListUsers never returns it, so it stays empty here.
* ListUsers and GetAccountAuthorizationDetails are never truncated by moto, whatever
  MaxItems says; ListRoles is (at the page size asked), so the 1,200-role account makes
  check() walk two pages. For the read, a loopback proxy in front of moto cuts those two
  answers into pages of 500 with IAM's Marker/IsTruncated, so the 1,200-user account is
  read over 5 + 3 real pages.
* Server certificates: moto fakes UploadDate, Expiration and ServerCertificateId; the
  expiry asserted comes from the certificate body.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from inventory.connectors import aws_policy
from inventory.connectors.aws import AwsConnector
from inventory.connectors.base import AccessDenied, BadConfig, Unreachable, connector_for
from tests.live.servers_aws import *  # noqa: F403 - fixtures and constants

SESSION_START = datetime.now(UTC) - timedelta(minutes=1)


@pytest.fixture(scope="module")
def main_records(moto_server, tmp_path_factory) -> dict:
    """The main account, read once for the tests that only look at records."""
    with pytest.MonkeyPatch.context() as mp:
        isolate_credentials(mp, tmp_path_factory.mktemp("aws"))
        records = list(AwsConnector({"endpoint_url": moto_server.url}).read())
    return {r.name: r for r in records}


def dump(records) -> str:
    return json.dumps([asdict(r) for r in records], default=str)


# --- happy path: the main account -------------------------------------------------------

def test_it_is_registered_as_the_aws_source_kind(moto_server, aws_env):
    connector = connector_for("aws", {"endpoint_url": moto_server.url})
    assert isinstance(connector, AwsConnector)
    assert connector.config["region"] == "us-east-1"
    assert "AWS_ACCESS_KEY_ID" in AwsConnector.auth
    assert not any("secret" in p.name or "key" in p.name for p in AwsConnector.params)


def test_it_checks_the_connection_and_counts_what_it_sees(moto_server, aws_env):
    result = AwsConnector({"endpoint_url": moto_server.url}).check()
    assert result.ok, result.summary
    assert result.summary == (f"Connected to account {MAIN} as arn:aws:sts::{MAIN}:user/moto; "
                              "7 users, 8 roles visible")
    assert result.details["accounts"][0]["users"] == 7


def test_it_reads_every_user_role_and_certificate(main_records):
    assert sorted(main_records) == sorted([
        "ci-deployer", "ops-admin", "report-reader", "etl-writer", "legacy-batch",
        "key-rotator", "retired-svc", "gha-deploy", "gha-any-repo", "gha-wildcard",
        "eks-payments", "ec2-web", "lambda-orders", "vendor-audit",
        "AWSServiceRoleForAutoScaling", "www-acme", "legacy-broken"])
    kinds = {r.name: r.kind for r in main_records.values()}
    assert kinds["ci-deployer"] == "iam_user" and kinds["ec2-web"] == "cloud_role"
    assert kinds["www-acme"] == "certificate"
    assert all(r.provider == "aws" for r in main_records.values())


def test_it_reads_a_ci_user_with_two_keys_and_tags(main_records, moto_server):
    user = main_records["ci-deployer"]
    keys = moto_server.facts["ci_keys"]
    assert user.external_id == f"arn:aws:iam::{MAIN}:user/service/ci-deployer"
    assert (user.path, user.auth_method, user.interactive_login) == (
        "/service/", "static_secret", False)
    creds = {c.external_id: c for c in user.credentials}
    assert sorted(creds) == sorted(keys.values())
    active, inactive = creds[keys["active"]], creds[keys["inactive"]]
    assert (active.kind, active.status, inactive.status) == ("access_key", "active", "inactive")
    assert active.attributes == {"service": "sts", "region": "eu-west-1"}
    assert SESSION_START < active.last_used_at <= datetime.now(UTC)
    assert inactive.last_used_at is None and inactive.attributes == {}
    assert user.last_used_at == active.last_used_at
    # Only active keys count as rotation: the newest active key's creation date.
    assert user.last_rotated_at == active.created_at_source
    assert active.created_at_source.tzinfo is not None
    assert user.owner_hints == {"owner": "alice@example.com", "team": "platform",
                                "environment": "Production", "purpose": "CI deploys",
                                "zone": "compute"}
    assert user.environment == "production"
    assert "Team=platform" in user.tags
    assert user.attributes["access_keys_active"] == 1
    assert user.attributes["access_keys_total"] == 2


def test_it_reads_a_console_user_with_password_and_mfa(main_records):
    user = main_records["ops-admin"]
    assert (user.interactive_login, user.auth_method) == (True, "password")
    assert user.attributes["console_password"] is True
    assert user.attributes["mfa_devices"] == 1
    [password] = user.credentials
    assert password.kind == "password"
    assert password.external_id == f"{user.attributes['user_id']}:console-password"
    assert password.attributes == {"password_reset_required": False}
    assert (user.owner_hints, user.environment) == (
        {"owner": "bob@example.com", "environment": "prod"}, "prod")


def test_it_reports_a_user_without_credentials_as_disabled(main_records):
    user = main_records["retired-svc"]
    assert (user.status, user.auth_method, user.credentials) == ("disabled", "unknown", [])
    assert (user.privilege, user.permissions_summary) == ("read", "read: no policies attached")


@pytest.mark.parametrize(("name", "privilege", "summary"), [
    ("ops-admin", "admin", "admin: AdministratorAccess (attached, admin)"),
    ("ci-deployer", "admin", "admin: everything (inline, admin)"),
    ("legacy-batch", "admin", "admin: IAMFullAccess (group admins, admin)"),
    ("key-rotator", "admin", "admin: iam-everything (group rotators inline, admin)"),
    ("etl-writer", "write", "write: etl-write (attached, write)"),
    ("report-reader", "read", "read: reports-read (attached, read)"),
    ("gha-deploy", "write", "write: PowerUserAccess (attached, write)"),
    ("ec2-web", "read", "read: ReadOnlyAccess (attached, read)"),
    ("lambda-orders", "write", "write: orders-table (inline, write)"),
])
def test_it_summarises_privilege(main_records, name, privilege, summary):
    record = main_records[name]
    assert (record.privilege, record.permissions_summary) == (privilege, summary)


def test_it_reads_oidc_roles_and_whether_they_restrict_the_subject(main_records):
    expected = {"gha-deploy": True, "gha-any-repo": False, "gha-wildcard": False,
                "eks-payments": True}
    for name, restricted in expected.items():
        role = main_records[name]
        host = EKS if name.startswith("eks") else GITHUB
        assert role.auth_method == "workload_federation"
        assert role.attributes["trust"]["oidc_providers"] == [host]
        assert role.attributes["trust"]["oidc_sub_restricted"] is restricted, name
        assert role.attributes["trust"]["oidc_sub_restricted_by_provider"] == {host: restricted}
    deploy = main_records["gha-deploy"]
    assert (deploy.path, deploy.environment) == ("/ci/", "prod")
    assert deploy.owner_hints == {"owner": "alice@example.com", "environment": "prod"}


def test_it_reads_service_and_cross_account_trust(main_records):
    web, fn, vendor = (main_records[n] for n in ("ec2-web", "lambda-orders", "vendor-audit"))
    assert web.auth_method == fn.auth_method == vendor.auth_method == "short_lived_token"
    assert web.attributes["trust"]["services"] == ["ec2.amazonaws.com"]
    assert fn.attributes["trust"]["services"] == ["edgelambda.amazonaws.com",
                                                  "lambda.amazonaws.com"]
    assert web.attributes["instance_profiles"] == ["ec2-web"]
    assert web.owner_hints == {"team": "web"}
    trust = vendor.attributes["trust"]
    assert trust["accounts"] == [MAIN, "999988887777"]
    assert trust["external_accounts"] == ["999988887777"]
    assert trust["oidc_providers"] == [] and trust["oidc_sub_restricted"] is True
    assert trust["anyone"] is False


def test_it_reads_role_last_use_and_marks_service_linked_roles(main_records):
    web = main_records["ec2-web"]
    assert SESSION_START < web.last_used_at <= datetime.now(UTC)
    assert main_records["lambda-orders"].last_used_at is None
    linked = main_records["AWSServiceRoleForAutoScaling"]
    assert linked.attributes["service_linked"] is True
    assert linked.path == "/aws-service-role/autoscaling.amazonaws.com/"
    assert web.attributes["service_linked"] is False


def test_it_reads_server_certificates(main_records, moto_server):
    cert = main_records["www-acme"]
    facts = moto_server.facts["certificate"]
    assert cert.external_id == f"arn:aws:iam::{MAIN}:server-certificate/cloudfront/www-acme"
    assert (cert.auth_method, cert.path, cert.expires_at) == (
        "certificate", "/cloudfront/", facts["not_after"])
    [credential] = cert.credentials
    assert (credential.kind, credential.fingerprint) == ("certificate", facts["sha256"])
    assert credential.external_id == cert.attributes["server_certificate_id"]
    assert (credential.key_algorithm, credential.key_size) == ("RSA", 2048)
    assert cert.attributes["subject"] == "CN=www.acme.example"
    assert cert.attributes["serial"] == facts["serial"]


def test_it_keeps_a_malformed_certificate_with_the_hash_of_its_text(main_records):
    import hashlib

    cert = main_records["legacy-broken"]
    assert cert.attributes["parse_error"] is True
    assert cert.credentials[0].fingerprint == hashlib.sha256(b"not a certificate").hexdigest()
    # moto's fixed Expiration stands in when the body cannot say.
    assert cert.expires_at == datetime(2012, 5, 8, 1, 2, 3, 4000, tzinfo=UTC)


def test_it_never_yields_a_secret_value(main_records, moto_server):
    text = dump(main_records.values())
    assert moto_server.canaries, "the seeding planted no canaries"
    leaked = [c for c in moto_server.canaries if c in text]
    assert leaked == []
    assert "PRIVATE KEY" not in text
    json.loads(text)  # attributes are JSON-safe once datetimes are strings


def test_it_yields_json_safe_attributes(main_records):
    for record in main_records.values():
        json.dumps(record.attributes)
        json.dumps([c.attributes for c in record.credentials])


# --- several accounts, an empty one, and thousands of identities ------------------------

def test_it_reads_several_accounts_through_assume_role(moto_server, aws_env):
    config = {"endpoint_url": moto_server.url,
              "assume_role_arns": ", ".join(reader_role(a) for a in TEAM_ACCOUNTS)}
    connector = AwsConnector(config)
    result = connector.check()
    assert result.ok and result.summary.startswith("Connected to 2 accounts: ")
    assert (f"account {TEAM_ACCOUNTS[0]} as arn:aws:sts::{TEAM_ACCOUNTS[0]}:assumed-role/"
            "nhigov-reader/nhigov-discovery; 3 users, 1 roles visible") in result.summary
    records = list(connector.read())
    accounts = sorted({r.attributes["account_id"] for r in records})
    assert accounts == sorted(TEAM_ACCOUNTS)
    users = [r for r in records if r.kind == "iam_user"]
    assert len(users) == 6 and len(records) == 8  # 3 users + the reader role, per account
    assert all(r.external_id.startswith(f"arn:aws:iam::{r.attributes['account_id']}:")
               for r in records)
    keyed = [u for u in users if u.credentials]
    assert [u.name for u in keyed] == ["svc-111-0000", "svc-222-0000"]
    reader = next(r for r in records if r.name == "nhigov-reader")
    assert reader.attributes["trust"]["accounts"] == [MAIN]


def test_it_reads_an_empty_account(moto_server, aws_env):
    connector = AwsConnector({"endpoint_url": moto_server.url,
                              "assume_role_arns": [reader_role(EMPTY_ACCOUNT)]})
    result = connector.check()
    assert result.ok and result.summary.endswith("0 users, 0 roles visible")
    assert list(connector.read()) == []


def test_it_reads_thousands_of_users_and_roles_page_by_page(moto_server, paging_proxy,
                                                           aws_env):
    arns = [reader_role(BULK_ACCOUNT)]
    check = AwsConnector({"endpoint_url": moto_server.url, "assume_role_arns": arns}).check()
    # moto pages ListRoles at the requested 1,000: two pages walked for 1,201 roles.
    assert check.details["accounts"][0]["roles"] == BULK + 1
    assert check.details["accounts"][0]["users"] == BULK
    started = time.monotonic()
    records = list(AwsConnector({"endpoint_url": paging_proxy.url,
                                 "assume_role_arns": arns}).read())
    # 1,200 users + 1,201 roles in pages of 500 entities; 1,200 users for ListUsers.
    assert paging_proxy.pages == {"GetAccountAuthorizationDetails": 5, "ListUsers": 3}
    users = {r.name for r in records if r.kind == "iam_user"}
    roles = {r.name for r in records if r.kind == "cloud_role"}
    assert users == {f"svc-333-{i:04d}" for i in range(BULK)}
    assert roles == {f"wl-{i:04d}" for i in range(BULK)} | {"nhigov-reader"}
    assert len({r.external_id for r in records}) == len(records) == 2 * BULK + 1
    assert time.monotonic() - started < 120


# --- failures -------------------------------------------------------------------------

def test_it_reports_an_unreachable_endpoint_quickly(aws_env):
    config = {"endpoint_url": f"http://127.0.0.1:{free_port()}", "max_attempts": 1,
              "connect_timeout": 2}
    started = time.monotonic()
    result = AwsConnector(config).check()
    assert (result.ok, result.error_kind) == (False, "unreachable")
    assert result.summary.startswith("Cannot reach AWS while calling sts:GetCallerIdentity")
    with pytest.raises(Unreachable, match="Check endpoint_url"):
        list(AwsConnector(config).read())
    assert time.monotonic() - started < 10


def test_it_reports_unknown_credentials_as_access_denied(moto_auth_server, aws_env):
    aws_env("AKIAUNKNOWNUNKNOWN00", "not-a-real-secret")
    connector = AwsConnector({"endpoint_url": moto_auth_server.url, "max_attempts": 1})
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert "InvalidClientTokenId" in result.summary
    with pytest.raises(AccessDenied):
        list(connector.read())


def test_it_reports_missing_iam_permissions_as_access_denied(moto_auth_server, aws_env):
    key = moto_auth_server.facts["nobody"]
    aws_env(key["AccessKeyId"], key["SecretAccessKey"])
    connector = AwsConnector({"endpoint_url": moto_auth_server.url, "max_attempts": 1})
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    # moto names the user without its path; AWS would say user/nhigov/nobody.
    assert f"arn:aws:iam::{MAIN}:user/nobody is not authorized" in result.summary
    with pytest.raises(AccessDenied, match="AccessDenied"):
        list(connector.read())


def test_it_reads_with_a_read_only_auditor_key(moto_auth_server, aws_env):
    key = moto_auth_server.facts["auditor"]
    aws_env(key["AccessKeyId"], key["SecretAccessKey"])
    connector = AwsConnector({"endpoint_url": moto_auth_server.url})
    assert connector.check().summary.endswith("4 users, 1 roles visible")
    records = {r.name: r for r in connector.read()}
    assert records["app-1"].privilege == "admin"
    assert records["web"].attributes["trust"]["services"] == ["ec2.amazonaws.com"]
    assert key["SecretAccessKey"] not in dump(records.values())


def test_it_falls_back_to_unknown_privilege_without_authorization_details(
        moto_auth_server, aws_env):
    key = moto_auth_server.facts["limited"]
    aws_env(key["AccessKeyId"], key["SecretAccessKey"])
    records = {r.name: r for r in AwsConnector({"endpoint_url": moto_auth_server.url}).read()}
    assert sorted(records) == ["app-1", "auditor", "limited", "nobody", "web"]
    app = records["app-1"]
    assert (app.privilege, app.attributes["policies_readable"]) == ("unknown", False)
    assert app.permissions_summary.startswith("unknown: policies could not be read")
    assert [c.kind for c in app.credentials] == ["access_key"]
    assert records["web"].attributes["trust"]["services"] == ["ec2.amazonaws.com"]


def test_it_reports_a_role_it_cannot_assume(moto_auth_server, aws_env):
    key = moto_auth_server.facts["auditor"]
    aws_env(key["AccessKeyId"], key["SecretAccessKey"])
    missing = "arn:aws:iam::555555555555:role/does-not-exist"
    connector = AwsConnector({"endpoint_url": moto_auth_server.url,
                              "assume_role_arns": [missing], "max_attempts": 1})
    result = connector.check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert result.summary.startswith(f"AWS refused AssumeRole while assuming role {missing}")
    with pytest.raises(AccessDenied, match="does-not-exist"):
        list(connector.read())


@pytest.mark.parametrize(("config", "message"), [
    ({"assume_role_arns": ["arn:aws:iam::123:role/x"]}, "is not an IAM role ARN"),
    ({"assume_role_arns": "arn:aws:s3:::bucket"}, "is not an IAM role ARN"),
    ({"region": "mars-1"}, "is not an AWS region name"),
    ({"endpoint_url": "localhost:4566"}, "must start with http"),
    ({"max_attempts": "0"}, "'max_attempts' must be a positive whole number"),
    ({"secret_access_key": "x"}, "unknown parameter 'secret_access_key'"),
])
def test_it_rejects_bad_configuration(config, message):
    with pytest.raises(BadConfig, match=message):
        AwsConnector(config)


def test_it_reports_an_unknown_credentials_profile(aws_env):
    result = AwsConnector({"credentials_profile": "nope"}).check()
    assert (result.ok, result.error_kind) == (False, "bad_config")
    assert "nope" in result.summary


def test_it_uses_defaults_for_empty_form_fields():
    config = AwsConnector({"region": "", "max_attempts": None, "assume_role_arns": ""}).config
    assert (config["region"], config["max_attempts"], config["assume_role_arns"]) == (
        "us-east-1", 5, [])


def test_it_reads_with_a_named_profile_from_a_mounted_aws_folder(moto_server, aws_env,
                                                                 monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    (tmp_path / "credentials").write_text(
        "[discovery]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    connector = AwsConnector({"endpoint_url": moto_server.url,
                              "credentials_profile": "discovery"})
    assert connector.check().ok
    assert AwsConnector({"credentials_profile": "nope"}).check().error_kind == "bad_config"


def test_it_reports_missing_credentials(moto_server, aws_env, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = AwsConnector({"endpoint_url": moto_server.url, "max_attempts": 1}).check()
    assert (result.ok, result.error_kind) == (False, "access_denied")
    assert result.summary.startswith("No usable AWS credentials while calling "
                                     "sts:GetCallerIdentity")


def test_it_fails_naming_a_record_it_cannot_use():
    from inventory.connectors.aws_errors import record_guard
    from inventory.connectors.aws_records import AccountIndex, UserExtras, user_record
    from inventory.connectors.base import ConnectorError

    broken = {"UserName": "half-user"}  # no ARN
    with pytest.raises(ConnectorError, match="Unusable IAM user 'half-user' in account 1"), \
            record_guard("IAM user", broken, "1"):
        user_record(broken, UserExtras(), AccountIndex("1"))


# --- through the sync engine ------------------------------------------------------------

@pytest.mark.django_db
def test_it_syncs_the_main_account_into_the_register(moto_server, aws_env):
    from inventory.models import Identity
    from inventory.sync import sync_records
    from tests.factories import SourceFactory

    source = SourceFactory(name="aws-main", kind="aws", config={"endpoint_url": moto_server.url})
    connector = connector_for("aws", source.config)
    run = sync_records(source, connector.read())
    assert (run.status, run.created) == ("succeeded", 17), run.error
    deployer = Identity.objects.get(source=source, name="ci-deployer")
    assert (deployer.privilege, deployer.environment.slug) == ("admin", "production")
    assert deployer.credentials.filter(kind="access_key").count() == 2
    again = sync_records(source, connector.read())
    # Key and role last use are unchanged: a second run writes nothing.
    assert (again.status, again.unchanged, again.updated) == ("succeeded", 17, 0)


# --- the policy analysis on its own -----------------------------------------------------

def _statement(action, resource="*", effect="Allow", **extra):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": resource, **extra}]}


@pytest.mark.parametrize(("document", "level"), [
    (_statement("*"), "admin"),
    (_statement("*:*"), "admin"),
    (_statement(["s3:GetObject", "iam:*"]), "admin"),
    (_statement("*", "arn:aws:s3:::bucket/*"), "write"),
    (_statement("s3:*"), "write"),
    (_statement(["s3:Get*", "ec2:Describe*", "dynamodb:BatchGetItem", "iam:ListRoles"]), "read"),
    (_statement("*", effect="Deny"), "none"),
    ({"Statement": {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}}, "write"),
    ('{"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}', "read"),
    ("%7B%22Statement%22%3A%5B%5D%7D", "none"),
    ("{not json", "unknown"),
    (None, "unknown"),
])
def test_it_grades_policy_documents(document, level):
    assert aws_policy.document_level(document) == level


def test_it_grades_aws_managed_policies_by_name_and_customer_ones_by_document():
    read_doc = _statement("s3:GetObject")
    assert aws_policy.managed_policy_level("arn:aws:iam::aws:policy/IAMFullAccess", read_doc) \
        == "admin"
    assert aws_policy.managed_policy_level(
        "arn:aws:iam::123456789012:policy/AdministratorAccess", read_doc) == "read"
    assert aws_policy.managed_policy_level(
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", _statement("s3:*")) == "read"


def test_it_combines_levels_and_admin_wins_over_unknown():
    grant = aws_policy.PolicyGrant
    assert aws_policy.combined_level([grant("a", "attached", "read"),
                                      grant("b", "inline", "unknown")]) == "unknown"
    assert aws_policy.combined_level([grant("a", "attached", "admin"),
                                      grant("b", "inline", "unknown")]) == "admin"
    assert aws_policy.combined_level([], readable=False) == "unknown"
    assert aws_policy.combined_level([grant("a", "attached", "admin")], readable=False) == "admin"


def _web_identity(provider: str, **condition) -> dict:
    return {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                           "Principal": {"Federated": provider}, "Condition": condition}]}


@pytest.mark.parametrize(("condition", "restricted"), [
    ({"StringEquals": {f"{GITHUB}:sub": "repo:acme/app:environment:prod"}}, True),
    ({"StringLike": {f"{GITHUB}:sub": ["repo:acme/*", "repo:acme-ops/*"]}}, True),
    ({"StringLike": {f"{GITHUB}:sub": ["repo:acme/*", "*"]}}, False),
    ({"StringLike": {f"{GITHUB}:sub": "repo:*"}}, False),
    ({"StringLikeIfExists": {f"{GITHUB}:sub": "repo:acme/*"}}, False),
    ({"StringNotEquals": {f"{GITHUB}:sub": "repo:evil/x"}}, False),
    ({"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}}, False),
    ({"ForAnyValue:StringLike": {f"{GITHUB.upper()}:SUB": "repo:acme/app:*"}}, True),
])
def test_it_judges_oidc_subject_conditions(condition, restricted):
    provider = f"arn:aws:iam::{MAIN}:oidc-provider/{GITHUB}"
    trust = aws_policy.analyse_trust(_web_identity(provider, **condition), MAIN)
    assert trust["oidc_sub_restricted"] is restricted
    assert trust["oidc_sub_restricted_by_provider"] == {GITHUB: restricted}


def test_it_analyses_public_saml_and_cognito_trust():
    anyone = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}]}
    assert aws_policy.analyse_trust(anyone, MAIN)["anyone"] is True
    saml = aws_policy.analyse_trust(_web_identity(
        f"arn:aws:iam::{MAIN}:saml-provider/okta"), MAIN)
    assert (saml["saml_providers"], saml["oidc_providers"]) == (["okta"], [])
    assert saml["oidc_sub_restricted"] is True  # no OIDC provider, nothing unrestricted
    cognito = aws_policy.analyse_trust(_web_identity(
        "cognito-identity.amazonaws.com",
        StringEquals={"cognito-identity.amazonaws.com:aud": "eu-west-1:pool"}), MAIN)
    assert cognito["oidc_sub_restricted_by_provider"] == {"cognito-identity.amazonaws.com": True}
    assert aws_policy.analyse_trust("garbage", MAIN)["readable"] is False
