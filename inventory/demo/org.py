"""The demo organisation (teams, people, sources) and the seeded helpers the generators
share."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from itertools import product

SEED = 3  # reference seed 003
DOMAIN = "aifactory.example"
OWNER_EMAIL = "owner@demo.nhigov.test"
OWNER_SHARE = 20  # identities owned by the demo owner user's Person
PROD, STAGING, DEV = "production", "staging", "development"
ENVIRONMENTS = [(PROD, "Production", True), (STAGING, "Staging", False),
                (DEV, "Development", False)]
ACCOUNTS = {"aws-prod": ("210987654321", PROD), "aws-staging": ("109876543210", STAGING)}
CLUSTER = "gpu-cluster"  # the Kubernetes connector's cluster_name: part of every external id

SOURCES = [
    ("aws-prod", "aws", {"region": "eu-west-1",
                         "role_arn": "arn:aws:iam::210987654321:role/nhigov-discovery"}),
    ("aws-staging", "aws", {"region": "eu-west-1",
                            "role_arn": "arn:aws:iam::109876543210:role/nhigov-discovery"}),
    ("k8s-gpu-cluster", "kubernetes", {"api_url": "https://gpu-cluster.k8s.aifactory.example",
                                       "context": "gpu-cluster"}),
    ("vault", "vault", {"url": "https://vault.aifactory.example:8200", "namespace": ""}),
    ("certificates", "certificates", {"path": "/var/lib/nhigov/certificates.json"}),
    ("saas-api-keys", "file", {"path": "/var/lib/nhigov/saas-api-keys.csv"}),
]

# (slug, name, description, [(person name, active)]); the first person leads the team.
TEAMS = [
    ("ml-platform", "ML Platform", "Training clusters, GPU scheduling, notebooks.",
     [("Amara Nwosu", True), ("Lukas Brandt", True), ("Mei Tanaka", True),
      ("Diego Alvarez", False), ("Sofia Rossi", True)]),
    ("data-engineering", "Data Engineering", "Lakehouse, feature pipelines, Snowflake.",
     [("Rahul Mehta", True), ("Hannah Berg", True), ("Tomasz Nowak", True),
      ("Grace Kim", True), ("Pieter de Vries", False)]),
    ("inference", "Inference", "Model serving, gateways, GPU inference fleet.",
     [("Chloe Martin", True), ("Kwame Mensah", True), ("Yuki Sato", True),
      ("Ivan Petrov", True), ("Laura Schmidt", True)]),
    ("mlops", "MLOps", "MLflow, Argo pipelines, CI/CD for models.",
     [("Noah Fischer", True), ("Olivia Owens", True), ("Arjun Rao", True),
      ("Elena Popescu", True), ("Samir Haddad", False)]),
    ("security", "Security", "Identity, secrets management, PKI, detection.",
     [("Fatima Zahra", True), ("Marcus Webb", True), ("Ingrid Larsen", True),
      ("Jonas Weber", True), ("Nadia Kowalski", True)]),
    ("finance-analytics", "Finance Analytics", "GPU cost reporting and forecasting.",
     [("Claire Dubois", True), ("Ben Carter", True), ("Aisha Bello", True),
      ("Victor Lindqvist", False), ("Rosa Jimenez", True)]),
    ("research", "Applied Research", "Experiments, evaluation, fine-tuning.",
     [("Daniel Cohen", True), ("Priya Nair", True), ("Leo Moreau", True),
      ("Hana Novak", True), ("Oscar Silva", True)]),
    ("platform-infra", "Platform Infrastructure", "Clusters, networking, observability.",
     [("Erik Johansson", True), ("Zara Ahmed", True), ("Matteo Ricci", True),
      ("Anna Kowal", True), ("Felix Braun", True)]),
]


def person_email(name: str) -> str:
    if name == "Olivia Owens":  # the person behind the demo owner login
        return OWNER_EMAIL
    return f"{name.lower().replace(' ', '.')}@{DOMAIN}"


class Gen:
    """Seeded helpers shared by the per-source generators."""

    def __init__(self, now: datetime, seed: int = SEED):
        self.rng, self.now = random.Random(seed), now  # noqa: S311 (demo data)
        self.members = {slug: [person_email(n) for n, _ in people if n != "Olivia Owens"]
                        for slug, _, _, people in TEAMS}

    def ago(self, lo: int, hi: int) -> datetime:
        return self.now - timedelta(days=self.rng.randint(lo, hi),
                                    minutes=self.rng.randint(0, 1439))

    def ahead(self, lo: int, hi: int) -> datetime:
        return self.now + timedelta(days=self.rng.randint(lo, hi), hours=self.rng.randint(0, 23))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def token(self, n: int, alphabet: str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def hexid(self, n: int) -> str:
        return self.token(n, "0123456789abcdef")

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def names(self, *parts: list[str], k: int) -> list[str]:
        combos = ["-".join(p for p in combo if p) for combo in product(*parts)]
        return self.rng.sample(combos, k)

    def last_used(self, created: datetime, never: float = 0.12,
                  dormant: float = 0.2) -> datetime | None:
        roll = self.rng.random()
        if roll < never:
            return None
        used = self.ago(95, 700) if roll < never + dormant else self.ago(0, 30)
        return max(used, created)

    def privilege(self, admin: float = 0.12, write: float = 0.45) -> str:
        roll = self.rng.random()
        return "admin" if roll < admin else "write" if roll < admin + write else "read"

    def hints(self, team: str, purpose: str, zone: str, orphan: float = 0.36,
              workload: str = "") -> dict:
        """Owner hints as tags/labels would carry them; about a third carry no owner."""
        hints = {"zone": zone} if self.chance(0.9) else {}
        if workload:
            hints["workload"] = workload
        if self.chance(orphan):
            return hints | ({"purpose": purpose} if self.chance(0.25) else {})
        hints |= {"team": team, "technical_owner": self.rng.choice(self.members[team])}
        if self.chance(0.55):
            hints["business_owner"] = self.members[team][0]
        if self.chance(0.3):
            hints["backup_owner"] = self.rng.choice(self.members[team])
        if self.chance(0.85):
            hints["purpose"] = purpose
        return hints


