"""TLS certificates, and API keys held at SaaS vendors (file import of a vendor export)."""

from __future__ import annotations

from datetime import timedelta

from inventory.connectors.base import CredentialRecord as Cred
from inventory.connectors.base import IdentityRecord as Rec
from inventory.demo.cloud import NAMESPACES
from inventory.demo.org import DOMAIN, PROD, STAGING, Gen

PUBLIC = ["api", "inference", "chat", "docs", "status", "models", "playground", "auth",
          "mlflow", "grafana", "argo", "vault", "registry", "labeling"]
CLIENTS = ["feature-store-writer", "triton-client", "spark-driver", "airflow-worker",
           "ray-head", "mlflow-client", "kafka-producer", "kafka-consumer", "vector-db-client",
           "backup-agent", "prometheus-scraper", "guardrails-proxy"]
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# Weak keys where a legacy appliance or an old internal CA signed them.
WEAK = {"labeling", "registry", "backup-agent", "gpu-node-03"}


def certificate_records(g: Gen) -> list[Rec]:
    out = [_cert(g, f"{n}.{DOMAIN}", "Let's Encrypt R11", 90, "access", "inference")
           for n in PUBLIC]
    for ns, (env, zone, team, fixed) in NAMESPACES.items():
        out += [_cert(g, f"{svc}.{ns}.svc.cluster.local", "AIF Cluster CA", 365, zone, team, env)
                for svc in fixed[:3]]
    for env, client in [(e, c) for e in (PROD, STAGING) for c in CLIENTS]:
        out.append(_cert(g, f"client:{client}", "Vault PKI aif-int", 30, "compute",
                         "security", env))
    out += [_cert(g, f"gpu-node-{i:02d}.gpu.internal", "AIF Internal CA", 825, "compute",
                  "platform-infra") for i in range(1, 21)]
    return out


def _key(g: Gen, cn: str) -> tuple[str, int]:
    if any(w in cn for w in WEAK):
        return "RSA", 1024
    roll = g.rng.random()
    return ("EC", 256) if roll < 0.2 else ("EC", 384) if roll < 0.27 else \
        ("RSA", 4096) if roll < 0.37 else ("RSA", 2048)


def _cert(g: Gen, cn: str, issuer: str, days: int, zone: str, team: str,
          env: str = PROD) -> Rec:
    roll = g.rng.random()
    if roll < 0.09:
        expires = g.now - timedelta(days=g.rng.randint(1, 200))  # expired, still deployed
    elif roll < 0.2:
        expires = g.ahead(1, 29)  # expiring within the 30-day alert window
    else:
        expires = g.ahead(31, max(32, days))
    lifetime = days if days >= 90 or g.chance(0.5) else 365
    created, (algo, size) = expires - timedelta(days=lifetime), _key(g, cn)
    fingerprint, serial = g.hexid(64), g.hexid(32)
    client = cn.startswith("client:")
    cred = Cred("certificate", serial, fingerprint=fingerprint, created_at_source=created,
                expires_at=expires, status="expired" if expires < g.now else "active",
                key_algorithm=algo, key_size=size, attributes={"issuer": issuer})
    return Rec(
        external_id=f"sha256:{fingerprint}", provider="certificate", kind="certificate",
        name=cn, path=issuer, environment=env,
        privilege=g.privilege(0.05, 0.5) if client else "unknown",
        permissions_summary="mTLS client" if client else "TLS server",
        auth_method="certificate", created_at_source=created, last_rotated_at=created,
        expires_at=expires, tags=["tls", "mtls" if client else "server"],
        attributes={"issuer": issuer, "sans": [cn.removeprefix("client:")],
                    "auto_renew": issuer.startswith(("Let's", "Vault")) and g.chance(0.7)},
        owner_hints=g.hints(team, f"TLS for {cn}", zone, orphan=0.4), credentials=[cred])


# vendor -> (provider, kind, credential kind, team, zone, names, key id prefix)
VENDORS = {
    "openai": ("saas", "api_key", "api_key", "inference", "compute",
               ["inference-gateway", "rag-service", "eval-harness", "labeling-assist",
                "support-bot", "notebook-shared", "prompt-lab", "batch-synth-data",
                "moderation", "summarizer"], "key_"),
    "huggingface": ("saas", "api_key", "api_key", "research", "compute",
                    ["model-download", "model-upload", "dataset-sync", "spaces-deploy",
                     "org-admin", "ci-push", "inference-endpoints"], "hf_token:"),
    "wandb": ("saas", "service_account", "api_key", "research", "compute",
              ["training-logger", "sweep-agent", "report-export", "ray-tune", "ci-tracker"],
              "wandb-sa:"),
    "snowflake": ("database", "service_account", "token", "data-engineering", "storage",
                  ["feature-loader", "dbt-runner", "cost-model", "looker", "airbyte",
                   "legacy-etl"], "pat:"),
    "datadog": ("saas", "api_key", "api_key", "platform-infra", "management",
                ["agent-api-key", "ci-visibility", "terraform-app-key", "incident-bot",
                 "gpu-metrics", "synthetics"], "dd:"),
    "jenkins": ("other", "api_key", "api_key", "mlops", "management",
                ["legacy-build", "model-promote"], "jenkins:"),
    "label-studio": ("other", "api_key", "api_key", "research", "storage",
                     ["annotation-sync", "export-bot"], "ls:"),
}


def saas_records(g: Gen) -> list[Rec]:
    out = []
    for vendor, spec in VENDORS.items():
        for name in spec[5]:
            for env in (PROD, STAGING) if g.chance(0.5) else (PROD,):
                out.append(_vendor_key(g, vendor, name, env, spec))
    return out + _github(g)


def _vendor_key(g: Gen, vendor: str, name: str, env: str, spec: tuple) -> Rec:
    provider, kind, cred_kind, team, zone, _, prefix = spec
    created = g.ago(20, 1000)
    key_id = prefix + g.token(12, "abcdefghijklmnopqrstuvwxyz0123456789")
    expires = created + timedelta(days=365) if cred_kind == "token" else None
    priv = "admin" if "admin" in name or "terraform" in name else g.privilege(0.08, 0.5)
    creds = [Cred(cred_kind, key_id, created_at_source=created, expires_at=expires,
                  last_used_at=g.last_used(created), status="expired"
                  if expires and expires < g.now else "active")]
    login = vendor == "snowflake" and name in ("legacy-etl", "looker")
    if login:  # legacy users that still log in with a password
        creds.append(Cred("password", f"{name}-{env}/password", created_at_source=created))
    return Rec(
        external_id=f"{vendor}:{name}-{env}", provider=provider, kind=kind,
        name=f"{vendor}-{name}-{env}", path=vendor, environment=env, privilege=priv,
        permissions_summary=f"{vendor} {'all scopes' if priv == 'admin' else priv + ' scope'}",
        interactive_login=login, auth_method="password" if login else "static_secret",
        created_at_source=created, last_used_at=creds[0].last_used_at,
        last_rotated_at=created, expires_at=expires, tags=["vendor", vendor],
        attributes={"vendor": vendor, "scopes": [priv]},
        owner_hints=g.hints(team, f"{vendor} access for {name}", zone, orphan=0.35),
        credentials=creds)


def _github(g: Gen) -> list[Rec]:
    """A GitHub App, fine-grained and classic PATs, deploy keys and a machine user."""
    out = []
    for repo in ["model-zoo", "feature-pipelines", "inference-charts", "training-recipes",
                 "infra-live", "eval-suite"]:
        created = g.ago(30, 900)
        fp = "SHA256:" + g.token(43, B64)
        write = g.chance(0.5)
        out.append(Rec(
            external_id=f"github:deploy-key/aifactory/{repo}/{g.rng.randint(10**7, 10**8)}",
            provider="github", kind="ssh_key", name=f"deploy-key-{repo}", path="aifactory",
            environment=PROD, privilege="write" if write else "read",
            permissions_summary=f"aifactory/{repo} {'read-write' if write else 'read-only'}",
            auth_method="static_secret", created_at_source=created,
            last_used_at=g.last_used(created), last_rotated_at=created, tags=["github"],
            owner_hints=g.hints("mlops", f"CI checkout of {repo}", "management"),
            credentials=[Cred("ssh_key", fp, fingerprint=fp, created_at_source=created,
                              key_algorithm="ED25519" if g.chance(0.6) else "RSA",
                              key_size=256 if g.chance(0.6) else 2048)]))
    for name, classic in [("release-bot", False), ("docs-publisher", False),
                          ("helm-pusher", False), ("legacy-ci", True), ("backup-mirror", True)]:
        created = g.ago(10, 1200)
        expires = None if classic else created + timedelta(days=g.rng.choice([30, 90, 366]))
        out.append(Rec(
            external_id=f"github:pat/aif-ci-bot/{name}", provider="github", kind="api_key",
            name=f"pat-{name}", path="aif-ci-bot", environment=PROD,
            privilege="admin" if classic else "write",
            permissions_summary="repo, admin:org, workflow" if classic else "contents:write",
            auth_method="static_secret", created_at_source=created,
            last_used_at=g.last_used(created), expires_at=expires, tags=["github"],
            owner_hints=g.hints("mlops", f"GitHub automation: {name}", "management"),
            credentials=[Cred("api_key", f"github_pat:{g.rng.randint(10**6, 10**7)}",
                              created_at_source=created, expires_at=expires,
                              status="expired" if expires and expires < g.now else "active")]))
    created = g.ago(400, 900)
    out.append(Rec(
        external_id="github:app/aifactory-ci", provider="github", kind="oauth_client",
        name="aifactory-ci (GitHub App)", path="aifactory", environment=PROD, privilege="write",
        permissions_summary="contents:write, pull_requests:write, checks:write",
        auth_method="static_secret", created_at_source=created,
        last_used_at=g.ago(0, 2), tags=["github"],
        owner_hints=g.hints("mlops", "CI checks and release PRs", "management", orphan=0),
        credentials=[Cred("client_secret", f"Iv1.{g.hexid(16)}/secret-{i}",
                          created_at_source=created + timedelta(days=200 * i))
                     for i in range(2)]))
    created = g.ago(700, 1400)
    out.append(Rec(
        external_id="github:user/aif-ci-bot", provider="github", kind="service_account",
        name="aif-ci-bot", path="aifactory", environment=PROD, privilege="admin",
        permissions_summary="organization owner", interactive_login=True,
        auth_method="password", created_at_source=created, last_used_at=g.ago(0, 10),
        tags=["github", "machine-user"],
        owner_hints=g.hints("mlops", "Machine user behind CI PATs", "management", orphan=0.0),
        credentials=[Cred("password", "aif-ci-bot/web-login", created_at_source=created)]))
    return out
