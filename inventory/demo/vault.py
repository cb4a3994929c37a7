"""Vault: AppRoles with secret-id accessors, tokens, Kubernetes and JWT auth roles, KV
metadata. External ids are the ones the vault connector reports (`approle:<mount>/<role>`,
`token:<accessor>`, `kubernetes:<mount>/<role>`, `jwt:<mount>/<role>`, `kv:<mount>/<path>`),
so the offline and the live demo key the same identities the same way."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

from inventory.connectors.base import CredentialRecord as Cred
from inventory.connectors.base import IdentityRecord as Rec
from inventory.demo.cloud import NAMESPACES, WORKLOADS
from inventory.demo.org import DEV, PROD, SEED, STAGING, Gen

GHA_REPOS = ["model-zoo", "feature-pipelines", "inference-charts", "training-recipes",
             "infra-live", "eval-suite"]
APPROLES = ["training-pipeline", "inference-api", "feature-store", "mlflow", "airflow",
            "argo-workflows", "ci-deployer", "snowflake-loader", "wandb-sync", "ray-cluster",
            "eval-harness", "guardrails", "grafana", "backup", "cost-report"]


def vault_records(g: Gen) -> list[Rec]:
    roles = [f"{r}-{e}" for r, e in product(APPROLES, ["prod", "staging", "dev", "legacy"])]
    out = [_approle(g, name) for name in g.rng.sample(roles, 54)]
    out += [_vault_token(g, i) for i in range(40)]
    out += [_vault_k8s_role(g, ns) for ns in list(NAMESPACES)[:14]]
    paths = g.names(["ml", "data", "inference", "platform"], ["openai", "hf", "snowflake",
                    "wandb", "datadog", "github", "postgres", "s3"], ["prod", "staging"], k=48)
    return out + [_kv_secret(g, p) for p in paths] + _jwt_roles(g)


def _env_of(name: str) -> str:
    return PROD if "prod" in name or "legacy" in name else STAGING if "staging" in name else DEV


def _approle(g: Gen, name: str) -> Rec:
    created, wl = g.ago(20, 1100), next((w for w in WORKLOADS if name.startswith(w)), "backup")
    team, zone, purpose = WORKLOADS[wl]
    ttl = None if g.chance(0.4) else 30
    creds = []
    for _ in range(g.rng.choice([1, 1, 1, 2, 3])):
        made = g.ago(1, 400)
        creds.append(Cred("secret_id", g.uid(), created_at_source=made,
                          last_used_at=g.last_used(made),
                          expires_at=made + timedelta(days=ttl) if ttl else None,
                          status="expired" if ttl and made + timedelta(days=ttl) < g.now
                          else "active"))
    priv = "admin" if g.chance(0.1) else g.privilege(0, 0.5)
    return Rec(
        external_id=f"approle:approle/{name}", provider="vault", kind="vault_approle",
        name=name, path="auth/approle/", environment=_env_of(name), privilege=priv,
        permissions_summary=f"policies: {name}, {'admin' if priv == 'admin' else 'default'}",
        auth_method="static_secret", created_at_source=created,
        last_used_at=max((c.last_used_at for c in creds if c.last_used_at), default=None),
        last_rotated_at=max(c.created_at_source for c in creds),
        attributes={"secret_id_ttl_days": ttl, "token_ttl": "1h"},
        owner_hints=g.hints(team, purpose, zone, workload=wl), credentials=creds)


def _vault_token(g: Gen, i: int) -> Rec:
    root, created = i == 0, g.ago(1, 800)
    name = "root" if root else f"token-{g.rng.choice(APPROLES)}-{g.token(4).lower()}"
    # Vault revokes expired tokens, so those listed expire ahead (renewed) or never.
    expires = None if root or g.chance(0.3) else g.ahead(0, 31)
    accessor = g.token(24, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    return Rec(
        external_id=f"token:{accessor}", provider="vault", kind="vault_token", name=name,
        path="auth/token/", environment=PROD, privilege="admin" if root else g.privilege(0.1),
        permissions_summary="policies: root" if root else "policies: default, ci",
        auth_method="static_secret" if expires is None else "short_lived_token",
        created_at_source=created, last_used_at=g.last_used(created), expires_at=expires,
        status="active", attributes={"orphan": g.chance(0.5), "renewable": expires is not None},
        owner_hints={} if root else g.hints("security", "Break-glass and CI tokens",
                                            "management", orphan=0.5),
        credentials=[Cred("token", accessor, created_at_source=created, expires_at=expires,
                          status="expired" if expires and expires < g.now else "active")])


def _vault_k8s_role(g: Gen, ns: str) -> Rec:
    env, zone, team, _ = NAMESPACES[ns]
    created = g.ago(30, 700)
    return Rec(
        external_id=f"kubernetes:kubernetes/{ns}", provider="vault", kind="vault_auth_role",
        name=f"k8s-{ns}", path="auth/kubernetes/", environment=env,
        privilege=g.privilege(0.05, 0.5), permissions_summary=f"policies: {ns}-read",
        auth_method="workload_federation", created_at_source=created,
        last_used_at=g.last_used(created, never=0.05),
        attributes={"bound_service_account_namespaces": [ns],
                    "bound_service_account_names": ["*"] if g.chance(0.4) else ["default"]},
        owner_hints=g.hints(team, f"Vault login for pods in {ns}", zone))


def _kv_secret(g: Gen, path: str) -> Rec:
    area, vendor, env = path.split("-")
    team = {"ml": "ml-platform", "data": "data-engineering", "inference": "inference",
            "platform": "platform-infra"}[area]
    created = g.ago(60, 1300)
    updated = created if g.chance(0.4) else g.ago(1, (g.now - created).days)
    return Rec(
        external_id=f"kv:secret/{area}/{env}/{vendor}", provider="vault", kind="secret",
        name=f"{area}/{env}/{vendor}", path="secret/", environment=PROD if env == "prod"
        else STAGING, privilege="unknown", auth_method="static_secret",
        created_at_source=created, last_rotated_at=updated,
        attributes={"versions": g.rng.randint(1, 9), "max_versions": 10},
        owner_hints=g.hints(team, f"{vendor} credentials for {area} ({env})", "storage"))


def _jwt_roles(g: Gen) -> list[Rec]:
    """GitHub Actions logins (JWT auth), one per CI repository; some trust any workflow of
    the organisation (no subject bound). A generator of their own keeps every earlier
    record as it was before these were added."""
    own = Gen(g.now, seed=SEED * 1000 + 17)
    out = []
    for repo in GHA_REPOS:
        created, bound = own.ago(30, 600), own.chance(0.65)
        priv = own.privilege(0.2, 0.6)
        out.append(Rec(
            external_id=f"jwt:jwt/gha-{repo}", provider="vault", kind="vault_auth_role",
            name=f"gha-{repo}", path="auth/jwt/", environment=PROD, privilege=priv,
            permissions_summary=f"policies: gha-{repo}-{priv}",
            auth_method="workload_federation", created_at_source=created,
            last_used_at=own.last_used(created, never=0.05),
            attributes={"bound_subject": f"repo:aifactory/{repo}:ref:refs/heads/main"
                        if bound else "", "bound_audiences": ["https://github.com/aifactory"]},
            owner_hints=own.hints("mlops", f"GitHub Actions of aifactory/{repo} read CI "
                                  "secrets", "management", orphan=0.3)))
    return out
