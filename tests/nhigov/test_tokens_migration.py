"""Migration 0004: DRF authtoken keys (plaintext) become hashed ApiTokens that still work,
and the plaintext table is dropped."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from rest_framework.test import APIClient

from nhigov.lib import tokens
from nhigov.models import ApiToken

BEFORE = [("nhigov", "0003_audit_checkpoint")]
LEGACY_KEY = "0123456789abcdef0123456789abcdef01234567"  # DRF's format: 40 hex characters


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_it_hashes_legacy_keys_and_drops_the_plaintext_table(users):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()  # every app
    migrate(BEFORE)
    with connection.cursor() as cursor:
        # The table as rest_framework.authtoken created it (that app is gone now).
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                       "user_id integer NOT NULL, created timestamp with time zone NOT NULL)"
                       if connection.vendor == "postgresql" else
                       "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
                       "user_id integer NOT NULL, created datetime NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)",
                       [LEGACY_KEY, users["auditor"].pk, "2026-01-02 03:04:05+00:00"])
    migrate(latest)

    assert "authtoken_token" not in connection.introspection.table_names()
    token = ApiToken.objects.get(user=users["auditor"])
    assert (token.digest, token.scope, token.prefix) == (tokens.digest(LEGACY_KEY), "write",
                                                         LEGACY_KEY[:8])
    assert token.created_at.year == 2026 and token.expires_at > token.created_at
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert client.get("/api/v1/identities/").status_code == 200
