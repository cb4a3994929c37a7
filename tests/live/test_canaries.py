"""Canary secrets, end to end: every kind of source is seeded with secret values, synced
into the register, and afterwards none of them appears anywhere the portal writes.

Seeded (each server module collects what it planted):
* AWS (moto): secret access keys, session tokens, a console password, a private key;
* OpenBao: the root token, secret-ids, role-ids, token values, KV values;
* Kubernetes stand-in: service-account token secrets, opaque secrets, TLS keys;
* TLS files: private keys beside and inside certificate files;
* an import file: a secret in an unknown credential field (the file is refused) and a
  credential registered by the SHA-256 of its value (the file is accepted);
* secret-scanner leak reports (gitleaks, trufflehog) carrying the raw secrets.

Searched afterwards: every column of every table (the whole database, read through the
test's own connection: the rows are in its transaction), every log record of every logger
at DEBUG, the CSV exports (register and audit log) and the API's responses.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client

from inventory import discovery, importer
from inventory.models import Credential, Identity, Source
from inventory.risk import leaks
from nhigov.lib.audit import Actor
from tests.live.servers_aws import aws_env, moto_server  # noqa: F401 - pytest fixtures
from tests.live.servers_kubernetes import k8s_api_fixture  # noqa: F401
from tests.live.servers_tls import pki_fixture  # noqa: F401
from tests.live.servers_vault import (  # noqa: F401
    vault_seed_fixture,
    vault_server_fixture,
)

pytestmark = pytest.mark.django_db
TOKEN_ENV = "NHIGOV_TEST_CANARY_VAULT_TOKEN"
IMPORT_CANARY = "CANARY-IMPORT-9d1c7b2e4f6a8c0e"
HASHED_CANARY = "CANARY-HASHED-51f0e3a2b4c6d8e0"
GITLEAKS_CANARY = "CANARY-GITLEAKS-0a9b8c7d6e5f4a3b"


def sources(moto, vault_seed, k8s_api, pki, monkeypatch) -> list[Source]:
    monkeypatch.setenv(TOKEN_ENV, vault_seed.server.root_token)
    configs = {
        "canary-aws": ("aws", {"endpoint_url": moto.url}),
        "canary-vault": ("vault", {"url": vault_seed.server.url, "token_env": TOKEN_ENV,
                                   "kv_mounts": ["secret", "legacy-kv"]}),
        "canary-k8s": ("kubernetes", k8s_api.config()),
        "canary-certs": ("certificates", {"directories": [str(pki.tree)]}),
    }
    return [Source.objects.create(name=name, kind=kind, config=config)
            for name, (kind, config) in configs.items()]


def import_files(actor: Actor) -> None:
    refused = json.dumps([{"name": "leaky", "kind": "service_account", "provider": "other",
                           "credentials": [{"kind": "api_key", "external_id": "k-leaky",
                                            "secret": IMPORT_CANARY}]}]).encode()
    result = importer.import_file(refused, file_name="leaky.json", source_name="canary-file",
                                  actor=actor)
    assert result.errors and not Identity.objects.filter(name="leaky").exists()
    digest = hashlib.sha256(HASHED_CANARY.encode()).hexdigest()
    accepted = json.dumps([{"name": "hashed", "kind": "service_account", "provider": "other",
                            "credentials": [{"kind": "api_key", "external_id": "k-hashed",
                                             "fingerprint": digest}]}]).encode()
    result = importer.import_file(accepted, file_name="hashed.json", source_name="canary-file",
                                  actor=actor)
    assert not result.errors, result.errors
    assert Credential.objects.filter(fingerprint=digest).exists()


def leak_reports(moto, vault_seed, actor: Actor) -> None:
    key_id = Credential.objects.filter(kind="access_key").values_list(
        "external_id", flat=True).first()
    gitleaks = [{"RuleID": "aws-access-token", "File": "deploy/.env", "StartLine": 3,
                 "Commit": "abc123", "Secret": moto.canaries[0],
                 "Match": f"AWS_ACCESS_KEY_ID={key_id} {moto.canaries[0]}"},
                {"RuleID": "generic-api-key", "File": "app.py", "StartLine": 9,
                 "Secret": GITLEAKS_CANARY, "Match": f"api_key = '{GITLEAKS_CANARY}'"},
                {"RuleID": "generic-api-key", "File": "hashed.py", "StartLine": 1,
                 "Secret": HASHED_CANARY, "Match": HASHED_CANARY}]
    result = leaks.import_report(json.dumps(gitleaks).encode(), actor)
    assert result.matched == 2, result
    trufflehog = "\n".join(json.dumps({
        "DetectorName": "Vault", "Raw": secret, "RawV2": secret, "Redacted": secret[:3],
        "SourceMetadata": {"Data": {"Git": {"repository": "r", "file": "f", "line": n}}},
    }) for n, secret in enumerate(vault_seed.canaries[:5]))
    leaks.import_report(trufflehog.encode(), actor)


def database_text() -> str:
    """Every row of every table, every column as text."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            parts += [repr(row) for row in cursor.fetchall()]
    return "\n".join(parts)


def exports_and_api(users, client_for, api_token) -> str:
    auditor = client_for("auditor")
    texts = [b"".join(auditor.get(url).streaming_content).decode()
             for url in ("/identities/export.csv", "/audit/export.csv")]
    api = Client(HTTP_AUTHORIZATION=f"Bearer {api_token('analyst')}")
    for path in ("identities", "credentials", "sources", "sync-runs", "findings",
                 "people", "teams"):
        response = api.get(f"/api/v1/{path}/", {"page_size": 1000})
        assert response.status_code == 200, path
        texts.append(response.content.decode())
    for code in Identity.objects.values_list("code", flat=True)[:300]:
        texts.append(api.get(f"/api/v1/identities/{code}/").content.decode())
    return "\n".join(texts)


def test_it_keeps_every_canary_out_of_the_database_logs_exports_and_api(
    moto_server, aws_env, vault_seed, k8s_api, pki, monkeypatch, caplog, users,  # noqa: F811
    client_for, api_token,
):
    caplog.set_level(logging.DEBUG)  # every logger, at its most talkative
    actor = Actor.system("canary-test")
    for source in sources(moto_server, vault_seed, k8s_api, pki, monkeypatch):
        run = discovery.run_source(source, "canary-test")
        assert run.status == "succeeded" and run.seen > 0, (source.name, run.error)
    import_files(actor)
    leak_reports(moto_server, vault_seed, actor)
    canaries = [*moto_server.canaries, *vault_seed.canaries, *k8s_api.material.canaries(),
                *pki.canaries, IMPORT_CANARY, HASHED_CANARY, GITLEAKS_CANARY,
                *(Path(f).read_text().strip() for f in k8s_api.token_files.values())]
    assert len(canaries) > 40

    places = {"database": database_text(),
              "logs": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
              "exports and API": exports_and_api(users, client_for, api_token)}

    assert len(places["logs"]) > 1000 and Identity.objects.count() > 50
    leaked = {where: [c for c in canaries if c in text] for where, text in places.items()}
    assert leaked == {where: [] for where in places}
