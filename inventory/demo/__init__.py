"""A deterministic demo register: the AI factory of reference seed 003.

An AI platform whose pipelines minted machine identities faster than anyone tracked them:
about 900 identities over AWS, a GPU Kubernetes cluster, Vault, certificates and SaaS API
keys; roughly a third with no owner, many never rotated, a few with console passwords.
Everything comes from one seeded `random.Random` and dates count back from `now` (the
command passes today's midnight), so the same day always yields the same records.
Identifiers only (key ids, accessors, UIDs, fingerprints): never a secret value.
"""

from __future__ import annotations

from datetime import datetime

from inventory.connectors.base import IdentityRecord
from inventory.demo.cloud import aws_records, k8s_records
from inventory.demo.external import certificate_records, saas_records
from inventory.demo.org import (
    DOMAIN,
    ENVIRONMENTS,
    OWNER_EMAIL,
    OWNER_SHARE,
    SOURCES,
    TEAMS,
    Gen,
    person_email,
)
from inventory.demo.vault import vault_records

__all__ = ["DOMAIN", "ENVIRONMENTS", "OWNER_EMAIL", "OWNER_SHARE", "SOURCES", "TEAMS",
           "build_records", "person_email"]


def build_records(now: datetime) -> dict[str, list[IdentityRecord]]:
    """Records per source name, in a fixed order; the same `now` gives the same records."""
    g = Gen(now)
    records = {
        "aws-prod": aws_records(g, "aws-prod", users=120, roles=150),
        "aws-staging": aws_records(g, "aws-staging", users=40, roles=60),
        "k8s-gpu-cluster": k8s_records(g),
        "vault": vault_records(g),
        "certificates": certificate_records(g),
        "saas-api-keys": saas_records(g),
    }
    _give_demo_owner(g, records)
    return records


def _give_demo_owner(g: Gen, records: dict[str, list[IdentityRecord]]) -> None:
    """Hand OWNER_SHARE owned MLOps / ML Platform identities to the demo owner's Person,
    so the owner login has a realistic slice of the register to look at."""
    pool = [r for batch in records.values() for r in batch
            if r.owner_hints.get("team") in ("mlops", "ml-platform")]
    for record in g.rng.sample(pool, OWNER_SHARE):
        record.owner_hints["technical_owner"] = OWNER_EMAIL
        record.owner_hints.setdefault("purpose", f"Maintained by MLOps: {record.name}")
