"""The live demo's seeds, built from the generator without starting any server: what
moto, the Kubernetes stand-in and the import file will hold, and the ownership step."""

from datetime import UTC, datetime

import pytest

from inventory import demo
from inventory.demo import live_aws, live_k8s, live_owners
from inventory.demo.live_owners import Ownership, fill_ownership
from inventory.importer import parse_file
from inventory.models import Identity
from nhigov.lib.audit import Actor
from nhigov.models import AuditEvent
from ownership.models import Team
from tests.factories import IdentityFactory, PersonFactory

NOW = datetime(2026, 1, 15, tzinfo=UTC)
RECORDS = demo.build_records(NOW)


def spec() -> dict:
    return live_aws.seed_spec(RECORDS, [], None)


def test_it_turns_iam_records_into_users_with_their_keys_and_tags():
    prod = spec()["accounts"][0]
    assert prod["id"] == "210987654321" and len(prod["users"]) == 120
    record = next(r for r in RECORDS["aws-prod"] if r.kind == "iam_user" and r.credentials
                  and r.owner_hints.get("technical_owner"))
    user = next(u for u in prod["users"] if u["name"] == record.name)
    assert [k["id"] for k in user["keys"]] == [c.external_id for c in record.credentials
                                              if c.kind == "access_key"]
    tags = {t["Key"]: t["Value"] for t in user["tags"]}
    assert tags["technical-owner"] == record.owner_hints["technical_owner"]
    assert tags["environment"] == record.environment
    assert all(set(t["Value"]) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789 _.:/=+-@") for t in user["tags"])


def test_it_gives_oidc_roles_a_trust_with_and_without_a_subject():
    roles = [r for a in spec()["accounts"] for r in a["roles"] if r["name"].startswith("gha")]
    conditions = [r["trust"]["Statement"][0]["Condition"] for r in roles]
    with_sub = [c for c in conditions if any(k.endswith(":sub") for v in c.values() for k in v)]
    assert with_sub and len(with_sub) < len(conditions)


def test_it_turns_policy_summaries_into_policies():
    managed, inline = live_aws._policies("AdministratorAccess, s3:PutObject on aif-*")
    assert managed == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    assert inline["s3-PutObject"]["Statement"][0]["Resource"] == "arn:aws:s3:::aif-*/*"


def test_it_records_the_cluster_with_rbac_and_legacy_tokens(tmp_path):
    live_k8s.write_recorded_api(tmp_path, RECORDS["k8s-gpu-cluster"], [], tmp_path)
    import json

    lists = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "api").glob("*.json")}
    accounts = lists["serviceaccounts"]["items"]
    assert len(accounts) == len(RECORDS["k8s-gpu-cluster"])
    assert any(b["roleRef"]["name"] == "cluster-admin"
               for b in lists["clusterrolebindings"]["items"])
    tokens = [s for s in lists["secrets"]["items"]
              if s["type"] == "kubernetes.io/service-account-token"]
    assert tokens and all("kubernetes.io/service-account.name" in s["metadata"]["annotations"]
                          for s in tokens)
    assert oct((tmp_path / "api" / "secrets.json").stat().st_mode & 0o777) == "0o600"


def test_it_exports_the_saas_keys_as_a_valid_import_file(tmp_path, db):
    for slug, name, _, _ in demo.TEAMS:
        Team.objects.create(slug=slug, name=name)
    data = live_owners.saas_export(RECORDS["saas-api-keys"], tmp_path / "saas.json")
    parsed = parse_file(data, "saas.json")
    assert parsed.errors == []
    assert len(parsed.records) == len(RECORDS["saas-api-keys"])
    assert sum(len(r.credentials) for r in parsed.records) >= len(parsed.records)


@pytest.mark.django_db
def test_it_fills_only_empty_ownership_fields_and_audits_it():
    alice, bob = PersonFactory(email="alice@example.test"), PersonFactory(email="bob@example.test")
    empty = IdentityFactory(external_id="kubernetes:kubernetes/training", technical_owner=None,
                            purpose="")
    owned = IdentityFactory(external_id="jwt:jwt/gha-x", technical_owner=bob,
                            purpose="set by an analyst")
    wanted = {i.external_id: Ownership({"technical_owner": alice.email, "purpose": "demo"})
              for i in (empty, owned)}

    assert fill_ownership(wanted, Actor.system("test")) == 1
    assert fill_ownership(wanted, Actor.system("test")) == 0

    empty.refresh_from_db()
    owned.refresh_from_db()
    assert (empty.technical_owner, empty.purpose) == (alice, "demo")
    assert (owned.technical_owner, owned.purpose) == (bob, "set by an analyst")
    event = AuditEvent.objects.get(action="identity.update")
    assert "analyst recorded" in event.reason
    assert Identity.objects.count() == 2
