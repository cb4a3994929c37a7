"""A real AWS API emulator (moto's server, its own process on loopback) and the accounts
the AWS connector tests read from it.

Two servers run per session: `moto_server` (authorisation off, like moto's default) holds
a realistic main account, two team accounts reached by AssumeRole and a bulk account of
1,200 users and 1,200 roles; `moto_auth_server` enforces IAM policies, for the
access-denied cases. Every secret the seeding handles (secret access keys, passwords,
session tokens, the certificate's private key) is collected in `canaries`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET  # noqa: S405 - parses moto's answers on loopback
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from botocore.config import Config

__all__ = [
    "BULK", "BULK_ACCOUNT", "EKS", "EMPTY_ACCOUNT", "GITHUB", "MAIN", "TEAM_ACCOUNTS",
    "aws_env", "free_port", "isolate_credentials", "moto_auth_server", "moto_server",
    "paging_proxy", "reader_role",
]

MOTO = Path(sys.executable).with_name("moto_server")
MAIN = "123456789012"  # moto's default account
TEAM_ACCOUNTS = ("111111111111", "222222222222")
BULK_ACCOUNT, EMPTY_ACCOUNT = "333333333333", "444444444444"
BULK = 1200
GITHUB = "token.actions.githubusercontent.com"
EKS = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def reader_role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/nhigov-reader"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    """A running moto server process and helpers to talk to it as a given principal."""

    url: str
    process: subprocess.Popen
    canaries: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    def client(self, service: str, creds: dict | None = None, region: str = "us-east-1"):
        creds = creds or {"AccessKeyId": "testing", "SecretAccessKey": "testing"}
        return boto3.client(
            service, endpoint_url=self.url, region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
            config=Config(retries={"max_attempts": 2}, max_pool_connections=32))

    def assume(self, role_arn: str) -> dict:
        creds = self.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="seed")
        creds = creds["Credentials"]
        self.canaries += [creds["SecretAccessKey"], creds["SessionToken"]]
        return creds

    def key(self, iam, user: str) -> dict:
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.canaries.append(key["SecretAccessKey"])
        return key

    def enforce_auth(self) -> None:
        """From now on every request must be signed by a known key and allowed by policy."""
        url = f"{self.url}/moto-api/reset-auth"
        request = urllib.request.Request(  # noqa: S310 - loopback http URL
            url, data=b"0", headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310


def start_moto() -> MotoServer:
    port = free_port()
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1).close()  # noqa: S310
            return MotoServer(url, process)
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"moto_server did not start on {url}")


def stop(server: MotoServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


def self_signed_certificate(common_name: str, days: int) -> tuple[str, str, dict]:
    """(certificate PEM, private key PEM, expected facts)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC).replace(microsecond=0)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    facts = {"sha256": cert.fingerprint(hashes.SHA256()).hex(),
             "not_after": cert.not_valid_after_utc, "serial": format(cert.serial_number, "x")}
    return pem, key_pem, facts


# --- a paging proxy: moto never truncates ListUsers or GetAccountAuthorizationDetails ---

class PagingProxy(ThreadingHTTPServer):
    """Forwards every request to moto unchanged, but cuts the answers moto never
    truncates into pages of `page_size` entities, honouring Marker the way IAM does. The
    connector then walks real multi-page answers through botocore's paginators."""

    PAGED = {"GetAccountAuthorizationDetails": (
        "UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"),
        "ListUsers": ("Users",)}
    daemon_threads = True

    def __init__(self, upstream: str, page_size: int):
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream, self.page_size = urlsplit(upstream), page_size
        self.pages: dict[str, int] = {}
        self.url = f"http://127.0.0.1:{self.server_address[1]}"

    def repage(self, action: str, body: bytes, marker: str) -> bytes:
        root = ET.fromstring(body)  # noqa: S314 - moto's own answer
        result = root[0]
        lists = [el for el in result if el.tag.split("}")[-1] in self.PAGED[action]]
        members = [(parent, member) for parent in lists for member in list(parent)]
        for parent in lists:
            parent.clear()
        start = int(marker or 0)
        for parent, member in members[start:start + self.page_size]:
            parent.append(member)
        more = start + self.page_size < len(members)
        ns = result.tag.split("}")[0] + "}" if "}" in result.tag else ""
        for el in list(result):
            if el.tag in (f"{ns}IsTruncated", f"{ns}Marker"):
                result.remove(el)
        ET.SubElement(result, f"{ns}IsTruncated").text = "true" if more else "false"
        if more:
            ET.SubElement(result, f"{ns}Marker").text = str(start + self.page_size)
        self.pages[action] = self.pages.get(action, 0) + 1
        return ET.tostring(root)


class _ProxyHandler(BaseHTTPRequestHandler):
    server: PagingProxy

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        upstream = http.client.HTTPConnection(self.server.upstream.netloc, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        upstream.request("POST", self.path, body=body, headers=headers)
        answer = upstream.getresponse()
        data, status = answer.read(), answer.status
        params = parse_qs(body.decode())
        action = params.get("Action", [""])[0]
        if status == 200 and action in PagingProxy.PAGED:
            data = self.server.repage(action, data, params.get("Marker", [""])[0])
        self.send_response(status)
        self.send_header("Content-Type", answer.getheader("Content-Type", "text/xml"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        upstream.close()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def paging_proxy(moto_server):
    proxy = PagingProxy(moto_server.url, page_size=500)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


# --- the main account ------------------------------------------------------------------

def seed_main(server: MotoServer) -> None:
    iam = server.client("iam")
    _seed_policies_and_groups(iam)
    _seed_users(server, iam)
    _seed_roles(server, iam)
    pem, key_pem, facts = self_signed_certificate("www.acme.example", 90)
    server.canaries.append(key_pem.splitlines()[1])  # a line of the private key itself
    iam.upload_server_certificate(ServerCertificateName="www-acme", Path="/cloudfront/",
                                  CertificateBody=pem, PrivateKey=key_pem)
    server.facts["certificate"] = facts
    # Any text at all is accepted as a body: a malformed certificate to survive.
    iam.upload_server_certificate(ServerCertificateName="legacy-broken",
                                  CertificateBody="not a certificate", PrivateKey="x")


def _seed_policies_and_groups(iam) -> None:
    iam.create_policy(PolicyName="reports-read", PolicyDocument=doc(
        allow(["s3:GetObject", "s3:ListBucket", "dynamodb:Describe*"],
              ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"])))
    iam.create_policy(PolicyName="etl-write", PolicyDocument=doc(
        allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::lake/*")))
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins",
                            PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    iam.create_group(GroupName="rotators")
    iam.put_group_policy(GroupName="rotators", PolicyName="iam-everything",
                         PolicyDocument=doc(allow("iam:*")))


def _user(iam, name: str, path: str = "/", **tags: str) -> None:
    tag_list = [{"Key": k.replace("_", "-"), "Value": v} for k, v in tags.items()]
    iam.create_user(UserName=name, Path=path, Tags=tag_list)


def _seed_users(server: MotoServer, iam) -> None:
    policy = f"arn:aws:iam::{MAIN}:policy"
    # A CI user with a used active key and an older inactive one; inline `*` on `*`.
    _user(iam, "ci-deployer", "/service/", Owner="alice@example.com", Team="platform",
          Environment="Production", Purpose="CI deploys", Zone="compute")
    iam.put_user_policy(UserName="ci-deployer", PolicyName="everything",
                        PolicyDocument=doc(allow("*")))
    old = server.key(iam, "ci-deployer")
    iam.update_access_key(UserName="ci-deployer", AccessKeyId=old["AccessKeyId"],
                          Status="Inactive")
    used = server.key(iam, "ci-deployer")
    # Signing a request with the key is how moto records its last use (service, region).
    server.client("sts", used, region="eu-west-1").get_caller_identity()
    server.facts["ci_keys"] = {"inactive": old["AccessKeyId"], "active": used["AccessKeyId"]}
    # A human-like user: console password, MFA, AdministratorAccess.
    _user(iam, "ops-admin", owner="bob@example.com", env="prod")
    iam.attach_user_policy(UserName="ops-admin",
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    password = "Sup3r-Secret-Passw0rd!"  # noqa: S105 - canary
    server.canaries.append(password)
    iam.create_login_profile(UserName="ops-admin", Password=password)
    mfa = iam.create_virtual_mfa_device(VirtualMFADeviceName="ops-admin")["VirtualMFADevice"]
    iam.enable_mfa_device(UserName="ops-admin", SerialNumber=mfa["SerialNumber"],
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    _user(iam, "report-reader", Team="analytics", environment="staging")
    iam.attach_user_policy(UserName="report-reader", PolicyArn=f"{policy}/reports-read")
    server.facts["reader_key"] = server.key(iam, "report-reader")["AccessKeyId"]
    _user(iam, "etl-writer", "/data/", team="data")
    iam.attach_user_policy(UserName="etl-writer", PolicyArn=f"{policy}/etl-write")
    server.key(iam, "etl-writer")
    _user(iam, "legacy-batch", team="data")
    iam.add_user_to_group(GroupName="admins", UserName="legacy-batch")
    server.key(iam, "legacy-batch")
    _user(iam, "key-rotator")
    iam.add_user_to_group(GroupName="rotators", UserName="key-rotator")
    server.key(iam, "key-rotator")
    _user(iam, "retired-svc")  # no keys, no password, no policies


def _oidc_trust(host: str, **conditions) -> str:
    return doc({"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": f"arn:aws:iam::{MAIN}:oidc-provider/{host}"},
                "Condition": conditions})


def _service_trust(*services: str) -> str:
    return doc({"Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"Service": list(services)}})


def _seed_roles(server: MotoServer, iam) -> None:
    iam.create_open_id_connect_provider(Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"],
                                        ThumbprintList=["a" * 40])
    aud = {f"{GITHUB}:aud": "sts.amazonaws.com"}
    main_only = {f"{GITHUB}:sub": "repo:acme/app:ref:refs/heads/main"}
    iam.create_role(RoleName="gha-deploy", Path="/ci/", AssumeRolePolicyDocument=_oidc_trust(
        GITHUB, StringEquals=aud, StringLike=main_only),
        Tags=[{"Key": "owner", "Value": "alice@example.com"}, {"Key": "env", "Value": "prod"}])
    iam.attach_role_policy(RoleName="gha-deploy",
                           PolicyArn="arn:aws:iam::aws:policy/PowerUserAccess")
    iam.create_role(RoleName="gha-any-repo", AssumeRolePolicyDocument=_oidc_trust(
        GITHUB, StringEquals=aud))
    iam.create_role(RoleName="gha-wildcard", AssumeRolePolicyDocument=_oidc_trust(
        GITHUB, StringLike={f"{GITHUB}:sub": "repo:*"}))
    iam.create_role(RoleName="eks-payments", AssumeRolePolicyDocument=_oidc_trust(
        EKS, StringEquals={f"{EKS}:sub": "system:serviceaccount:payments:api"}))
    iam.create_role(RoleName="ec2-web", AssumeRolePolicyDocument=_service_trust(
        "ec2.amazonaws.com"), Tags=[{"Key": "Team", "Value": "web"}])
    iam.attach_role_policy(RoleName="ec2-web",
                           PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_instance_profile(InstanceProfileName="ec2-web")
    iam.add_role_to_instance_profile(InstanceProfileName="ec2-web", RoleName="ec2-web")
    iam.create_role(RoleName="lambda-orders", AssumeRolePolicyDocument=_service_trust(
        "lambda.amazonaws.com", "edgelambda.amazonaws.com"))
    iam.put_role_policy(RoleName="lambda-orders", PolicyName="orders-table", PolicyDocument=doc(
        allow(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
              f"arn:aws:dynamodb:eu-west-1:{MAIN}:table/orders")))
    iam.create_role(RoleName="vendor-audit", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": ["arn:aws:iam::999988887777:root", f"arn:aws:iam::{MAIN}:root"]}}))
    iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    # Using the role is how moto records its last use.
    creds = server.assume(f"arn:aws:iam::{MAIN}:role/ec2-web")
    server.client("sts", creds, region="eu-central-1").get_caller_identity()


# --- other accounts, entered through AssumeRole -----------------------------------------

def seed_account(server: MotoServer, account: str, users: int, roles: int = 0) -> None:
    creds = server.assume(reader_role(account))
    iam = server.client("iam", creds)
    iam.create_role(RoleName="nhigov-reader", AssumeRolePolicyDocument=doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": MAIN}}))

    def make_user(i: int) -> None:
        _user(iam, f"svc-{account[:3]}-{i:04d}", "/bulk/" if users > 10 else "/", team=f"t{i % 7}")

    def make_role(i: int) -> None:
        iam.create_role(RoleName=f"wl-{i:04d}", AssumeRolePolicyDocument=_service_trust(
            "ecs-tasks.amazonaws.com"))

    # Sequential: moto's IAM backend is not safe for concurrent writes (create_role
    # iterates the role dict while another request adds to it).
    for i in range(users):
        make_user(i)
    for i in range(roles):
        make_role(i)
    if users and users <= 10:
        server.key(iam, f"svc-{account[:3]}-0000")


# --- the authorisation-enforcing server -------------------------------------------------

def seed_auth(server: MotoServer) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="app-1")
    iam.attach_user_policy(UserName="app-1",
                           PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    server.key(iam, "app-1")
    iam.create_role(RoleName="web", AssumeRolePolicyDocument=_service_trust("ec2.amazonaws.com"))
    principals = {
        "auditor": doc(allow(["iam:Get*", "iam:List*", "sts:GetCallerIdentity"])),
        "limited": doc(allow(["iam:Get*", "iam:List*", "sts:GetCallerIdentity"]),
                       {"Effect": "Deny", "Action": "iam:GetAccountAuthorizationDetails",
                        "Resource": "*"}),
        "nobody": None,
    }
    for name, policy in principals.items():
        iam.create_user(UserName=name, Path="/nhigov/")
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="discovery", PolicyDocument=policy)
        server.facts[name] = server.key(iam, name)


@pytest.fixture(scope="session")
def moto_server():
    server = start_moto()
    try:
        seed_main(server)
        for account in TEAM_ACCOUNTS:
            seed_account(server, account, users=3)
        seed_account(server, BULK_ACCOUNT, users=BULK, roles=BULK)
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="session")
def moto_auth_server():
    server = start_moto()
    try:
        seed_auth(server)
        server.enforce_auth()
        yield server
    finally:
        stop(server)


def isolate_credentials(mp: pytest.MonkeyPatch, folder: Path) -> None:
    """The connector finds credentials like in production, through the default chain;
    here the environment variables. A developer's ~/.aws and the instance metadata
    service stay out of the way."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL"):
        mp.delenv(name, raising=False)
    mp.setenv("AWS_CONFIG_FILE", str(folder / "config"))
    mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "credentials"))
    mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
    mp.setenv("AWS_ACCESS_KEY_ID", "testing")
    mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """Credentials through the environment; returns a function to switch to another key."""
    isolate_credentials(monkeypatch, tmp_path)

    def use(key_id: str, secret: str) -> None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)

    return use
