"""moto's AWS server for the live demo, run as a child process:

    python -m inventory.demo.live_aws_server --port N --spec SEED.json --ready READY.json

Starts moto's `ThreadedMotoServer` on loopback, loads the seed (see `live_aws`) through
the IAM and STS APIs over HTTP, as any client would, then sets through moto's in-process
backend only what no IAM API can set: creation dates, the generated access key ids and
their last use, and role last use (IAM derives these from the passage of time). Writes
the ready file and serves until SIGTERM. Imports no Django.

Each team account is entered the way the connector will: `sts:AssumeRole` into its
`nhigov-discovery` role from the base account. Console passwords are random and thrown
away; secret access keys returned by CreateAccessKey are never kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

MANAGED = "arn:aws:iam::aws:policy/"
SESSION = "nhigov-demo-seed"


def _client(url: str, service: str, creds: dict | None = None):
    import boto3
    from botocore.config import Config

    creds = creds or {"AccessKeyId": "nhigov-demo", "SecretAccessKey": "nhigov-demo"}
    return boto3.client(service, endpoint_url=url, region_name="eu-west-1",
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds.get("SessionToken"),
                        config=Config(retries={"max_attempts": 2}))


def _naive(value: str | None) -> datetime | None:
    """moto keeps naive UTC datetimes."""
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(UTC).replace(tzinfo=None)


def enter(url: str, account: dict):
    """An IAM client inside `account`, through its reader role (created by the seed)."""
    role_arn = f"arn:aws:iam::{account['id']}:role/{account['reader_role']}"
    creds = _client(url, "sts").assume_role(RoleArn=role_arn, RoleSessionName=SESSION)
    iam = _client(url, "iam", creds["Credentials"])
    iam.list_roles(MaxItems=1)  # moto builds the account (and loads its policies) here
    return iam


def seed_account(iam, account: dict) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{account['trusted_account']}:root"}}]}
    iam.create_role(RoleName=account["reader_role"], AssumeRolePolicyDocument=json.dumps(trust),
                    Description="nhigov discovery (read-only)", Tags=account["reader_tags"])
    iam.attach_role_policy(RoleName=account["reader_role"], PolicyArn=MANAGED + "SecurityAudit")
    for host in account["oidc_providers"]:
        iam.create_open_id_connect_provider(Url=f"https://{host}",
                                            ClientIDList=["sts.amazonaws.com"],
                                            ThumbprintList=["9" * 40])
    for user in account["users"]:
        _user(iam, user)
    for role in account["roles"]:
        _role(iam, role)
    for cert in account["certificates"]:
        iam.upload_server_certificate(
            ServerCertificateName=cert["name"], Path=cert["path"], CertificateBody=cert["body"],
            CertificateChain=cert["chain"], PrivateKey=cert["key"])
    _backdate(account)


def _attach(iam, kind: str, name: str, spec: dict) -> None:
    attach = iam.attach_user_policy if kind == "user" else iam.attach_role_policy
    put = iam.put_user_policy if kind == "user" else iam.put_role_policy
    key = "UserName" if kind == "user" else "RoleName"
    for arn in spec["managed"]:
        attach(**{key: name, "PolicyArn": arn})
    for policy, document in spec["inline"].items():
        put(**{key: name, "PolicyName": policy, "PolicyDocument": json.dumps(document)})


def _user(iam, user: dict) -> None:
    name = user["name"]
    iam.create_user(UserName=name, Path=user["path"], Tags=user["tags"])
    _attach(iam, "user", name, user)
    for key in user["keys"]:
        created = iam.create_access_key(UserName=name)["AccessKey"]
        if key["status"] != "Active":
            iam.update_access_key(UserName=name, AccessKeyId=created["AccessKeyId"],
                                  Status="Inactive")
    if user["password"]:
        iam.create_login_profile(UserName=name, Password=secrets.token_urlsafe(24))
    if user["mfa"]:
        device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
        iam.enable_mfa_device(UserName=name, SerialNumber=device["SerialNumber"],
                              AuthenticationCode1="123456", AuthenticationCode2="654321")


def _role(iam, role: dict) -> None:
    iam.create_role(RoleName=role["name"], Path=role["path"], Tags=role["tags"],
                    AssumeRolePolicyDocument=json.dumps(role["trust"]),
                    MaxSessionDuration=role["max_session"])
    _attach(iam, "role", role["name"], role)


def _unique_id(prefix: str, arn: str) -> str:
    """A stable IAM unique id (AIDA... for users, AROA... for roles): moto draws random
    ones, which would change every identity's attributes whenever the server restarts."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    digest = hashlib.sha256(arn.encode()).digest()
    return prefix + "".join(alphabet[b % 32] for b in digest[:17])


def _backdate(account: dict) -> None:
    """Dates, ids and last use from the seed, set in moto's backend."""
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    backend = iam_backends[account["id"]]["aws"]
    for spec in account["users"]:
        user = backend.users[spec["name"]]
        user.id = _unique_id("AIDA", f"{account['id']}:user/{spec['name']}")
        user.create_date = _naive(spec["created"]) or user.create_date
        for key, wanted in zip(user.access_keys, spec["keys"], strict=True):
            backend.access_keys.pop(key.access_key_id, None)
            key.access_key_id = wanted["id"]
            backend.access_keys[key.access_key_id] = key
            key.create_date = _naive(wanted["created"]) or key.create_date
            if wanted["last_used"]:
                key.last_used = AccessKeyLastUsed(timestamp=_naive(wanted["last_used"]),
                                                  service="s3", region="eu-west-1")
    reader = {"name": account["reader_role"], "created": account["reader_created"],
              "last_used": None}
    for spec in account["roles"] + [reader]:
        role = backend.get_role(spec["name"])
        backend.roles.pop(role.id, None)  # moto keys roles by their id
        role.id = _unique_id("AROA", f"{account['id']}:role/{spec['name']}")
        backend.roles[role.id] = role
        role.create_date = _naive(spec["created"]) or role.create_date
        if spec["last_used"]:
            role.last_used, role.last_used_region = _naive(spec["last_used"]), "eu-west-1"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--ready", type=Path, required=True)
    args = parser.parse_args(argv)
    # Policies such as SecurityAudit and AmazonS3FullAccess exist only when loaded.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    url = f"http://127.0.0.1:{args.port}"
    spec = json.loads(args.spec.read_text())
    for account in spec["accounts"]:
        started = time.monotonic()
        iam = enter(url, account)
        entered = time.monotonic()
        seed_account(iam, account)
        print(f"account {account['id']}: entered in {entered - started:.1f}s, seeded in "
              f"{time.monotonic() - entered:.1f}s", flush=True)
    args.ready.write_text(json.dumps({"pid": os.getpid(), "port": args.port}))
    print(f"moto ready on {url}", flush=True)
    stopped.wait()
    server.stop()


if __name__ == "__main__":
    main()
