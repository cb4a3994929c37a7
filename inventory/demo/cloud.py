"""AWS IAM users and roles, and the GPU cluster's Kubernetes service accounts."""

from __future__ import annotations

from inventory.connectors.base import CredentialRecord as Cred
from inventory.connectors.base import IdentityRecord as Rec
from inventory.demo.org import ACCOUNTS, CLUSTER, DEV, PROD, STAGING, Gen

WORKLOADS = {  # workload -> (team, zone, purpose)
    "training-pipeline": ("ml-platform", "compute", "Reads training shards and writes checkpoints"),
    "feature-sync": ("data-engineering", "storage", "Syncs features from the lakehouse"),
    "model-export": ("mlops", "storage", "Exports approved models to the registry bucket"),
    "s3-ingest": ("data-engineering", "storage", "Lands raw partner data in the raw bucket"),
    "batch-scoring": ("inference", "compute", "Nightly batch scoring of customer segments"),
    "airflow": ("data-engineering", "management", "Airflow workers orchestrating ETL DAGs"),
    "mlflow-artifacts": ("mlops", "storage", "MLflow artifact store access"),
    "label-export": ("research", "storage", "Exports labelled datasets for annotation"),
    "embedding-backfill": ("research", "compute", "Backfills embeddings into the vector index"),
    "eval-harness": ("research", "compute", "Runs offline model evaluations"),
    "gpu-autoscaler": ("platform-infra", "management", "Scales GPU node groups"),
    "cost-report": ("finance-analytics", "storage", "Reads CUR data for GPU cost reports"),
    "triton-deploy": ("inference", "compute", "Deploys Triton model repositories"),
    "vector-index": ("inference", "storage", "Writes to the vector database snapshots"),
    "ci-deployer": ("mlops", "management", "CI pipeline deploying infrastructure"),
    "log-shipper": ("platform-infra", "management", "Ships logs to the observability stack"),
    "guardrails": ("security", "access", "Scans prompts and completions for policy violations"),
    "backup": ("platform-infra", "storage", "Nightly backups of model registry and metadata"),
}
POLICIES = {"admin": ["AdministratorAccess", "IAMFullAccess", "iam:* on *"],
            "write": ["AmazonS3FullAccess", "s3:PutObject on aif-*", "sagemaker:*"],
            "read": ["ReadOnlyAccess", "s3:GetObject on aif-training-data/*", "ce:GetCost*"]}


def _workload(g: Gen) -> tuple[str, tuple[str, str, str]]:
    name = g.rng.choice(sorted(WORKLOADS))
    return name, WORKLOADS[name]


def aws_records(g: Gen, source: str, users: int, roles: int) -> list[Rec]:
    account, env = ACCOUNTS[source]
    names = g.names(["svc", "ci", "app", "etl", "bot"], sorted(WORKLOADS),
                    ["", "v2", "legacy", "tmp"], k=users)
    out = [_iam_user(g, account, env, name) for name in names]
    role_names = g.names(["", "eks", "sagemaker", "gha", "lambda", "vendor"], sorted(WORKLOADS),
                         ["role", "exec"], k=roles)
    return out + [_iam_role(g, account, env, name) for name in role_names]


def _iam_user(g: Gen, account: str, env: str, name: str) -> Rec:
    wl = next((w for w in WORKLOADS if w in name), "backup")
    team, zone, purpose = WORKLOADS[wl]
    created, priv = g.ago(30, 1500), g.privilege()
    env = DEV if env == STAGING and g.chance(0.3) else env
    keys, roll = [], g.rng.random()
    for _ in range(0 if roll < 0.06 else 2 if roll < 0.26 else 1):
        never = g.chance(0.35) and (g.now - created).days > 400
        made = created if never else g.ago(5, min(380, (g.now - created).days))
        keys.append(Cred("access_key", "AKIA" + g.token(16), created_at_source=made,
                         last_used_at=g.last_used(made), status="active"
                         if g.chance(0.9) else "inactive"))
    login = g.chance(0.08)
    if login:
        keys.append(Cred("password", f"{name}/login-profile", created_at_source=created))
    disabled = g.chance(0.04)
    return Rec(
        external_id=f"arn:aws:iam::{account}:user/service/{name}", provider="aws",
        kind="iam_user", name=name, path="/service/", environment=env, privilege=priv,
        permissions_summary=", ".join(g.rng.sample(POLICIES[priv], 2)),
        interactive_login=login, auth_method="password" if login and not keys[:-1]
        else "static_secret", created_at_source=created,
        last_used_at=max((k.last_used_at for k in keys if k.last_used_at), default=None),
        last_rotated_at=max((k.created_at_source for k in keys), default=None),
        status="disabled" if disabled else "active", tags=["ai-factory", wl],
        attributes={"account": account, "mfa": login and g.chance(0.5)},
        owner_hints=g.hints(team, f"{purpose} ({env})", zone, workload=wl),
        credentials=keys)


def _iam_role(g: Gen, account: str, env: str, name: str) -> Rec:
    wl = next((w for w in WORKLOADS if w in name), "backup")
    team, zone, purpose = WORKLOADS[wl]
    created, priv = g.ago(10, 1200), g.privilege(admin=0.1)
    trust: dict = {"service": "ec2.amazonaws.com"}
    if name.startswith("eks"):
        ns = g.rng.choice(["training", "inference", "feature-store", "mlflow"])
        trust = {"oidc_provider": f"oidc.eks.eu-west-1.amazonaws.com/id/{g.hexid(32).upper()}",
                 "subject": f"system:serviceaccount:{ns}:{wl}"}
    elif name.startswith("gha"):
        trust = {"oidc_provider": "token.actions.githubusercontent.com",
                 "subject": f"repo:aifactory/{wl}:ref:refs/heads/main" if g.chance(0.6) else None}
    elif name.startswith(("sagemaker", "lambda")):
        trust = {"service": f"{name.split('-')[0]}.amazonaws.com"}
    elif name.startswith("vendor"):
        trust = {"aws_account": f"{g.rng.randint(10**11, 10**12 - 1)}", "external_id": True}
    return Rec(
        external_id=f"arn:aws:iam::{account}:role/{name}", provider="aws", kind="cloud_role",
        name=name, path="/", environment=env, privilege=priv,
        permissions_summary=", ".join(g.rng.sample(POLICIES[priv], 2)),
        auth_method="workload_federation", created_at_source=created,
        last_used_at=g.last_used(created, never=0.15, dormant=0.18), tags=["ai-factory", wl],
        attributes={"account": account, "trust": trust, "max_session_hours": 1},
        owner_hints=g.hints(team, purpose, zone, orphan=0.33, workload=wl))


NAMESPACES = {  # namespace -> (environment, zone, team, service accounts)
    "training": (PROD, "compute", "ml-platform", ["trainer", "dataset-loader", "checkpoint-writer",
                                                  "pytorch-operator"]),
    "inference": (PROD, "compute", "inference", ["triton", "gateway", "autoscaler", "canary"]),
    "inference-staging": (STAGING, "compute", "inference", ["triton", "gateway", "loadtest"]),
    "feature-store": (PROD, "storage", "data-engineering", ["feast-server", "materializer",
                                                            "redis-writer"]),
    "data-pipelines": (PROD, "storage", "data-engineering", ["spark-driver", "spark-executor",
                                                             "airbyte"]),
    "mlflow": (PROD, "management", "mlops", ["mlflow-server", "registry-sync"]),
    "argo": (PROD, "management", "mlops", ["argo-server", "workflow-controller", "argo-events"]),
    "ray": (PROD, "compute", "research", ["ray-head", "ray-worker", "kuberay-operator"]),
    "notebooks": (DEV, "compute", "research", ["jupyterhub", "hub-spawner"]),
    "dev-sandbox": (DEV, "compute", "research", ["sandbox-runner"]),
    "kube-system": (PROD, "management", "platform-infra", ["cluster-autoscaler", "aws-node",
                                                           "coredns", "ebs-csi-controller"]),
    "gpu-operator": (PROD, "management", "platform-infra", ["gpu-operator", "dcgm-exporter"]),
    "monitoring": (PROD, "management", "platform-infra", ["prometheus", "grafana",
                                                          "datadog-agent"]),
    "ingress-nginx": (PROD, "access", "platform-infra", ["ingress-nginx"]),
    "cert-manager": (PROD, "management", "security", ["cert-manager", "cainjector"]),
    "vault-agent": (PROD, "management", "security", ["vault-agent-injector"]),
}
MODELS = ["llama-ft", "bert-ner", "vit-l", "whisper-asr", "ranker", "fraud-gbm", "churn-xgb",
          "embedder", "rag-retriever", "sdxl", "mistral-ft", "reranker", "ocr", "forecast",
          "clip", "tts", "summarizer", "moderation", "codegen", "t5-qa"]
JOBS = {"training": "train", "inference": "serve", "inference-staging": "serve",
        "ray": "tune", "notebooks": "nb", "argo": "wf", "dev-sandbox": "exp",
        "data-pipelines": "etl", "feature-store": "fs"}


def k8s_records(g: Gen) -> list[Rec]:
    """Service accounts per namespace: the fixed ones, `default`, and one per model job."""
    out = []
    for ns, (env, zone, team, fixed) in NAMESPACES.items():
        sas = ["default", *fixed]
        if ns in JOBS:
            sas += [f"{JOBS[ns]}-{m}" for m in g.rng.sample(MODELS, g.rng.randint(11, 18))]
        out += [_service_account(g, ns, sa, env, zone, team) for sa in sas]
    return out


def _service_account(g: Gen, ns: str, sa: str, env: str, zone: str, team: str) -> Rec:
    created = g.ago(5, 900)
    admin = ns == "kube-system" or sa.endswith("operator") or g.chance(0.04)
    legacy = g.chance(0.25) or (ns == "kube-system" and g.chance(0.5))
    creds = [Cred("token_secret", f"{sa}-token-{g.token(5, 'bcdfghjklmnpqrstvwxz2456789')}",
                  created_at_source=created, attributes={"type": "kubernetes.io/"
                                                                 "service-account-token"})
             ] if legacy else []
    attrs: dict = {"namespace": ns, "uid": g.uid()}
    if g.chance(0.2) and ns in ("training", "inference", "feature-store", "mlflow"):
        attrs["annotations"] = {"eks.amazonaws.com/role-arn":
                                f"arn:aws:iam::210987654321:role/eks-{sa}-role"}
    if admin:
        attrs["bindings"] = ["ClusterRole/cluster-admin"] if g.chance(0.5) else [
            f"ClusterRole/{sa}"]
    purpose = f"Kubernetes workload {ns}/{sa}"
    return Rec(
        external_id=f"{CLUSTER}/{ns}/{sa}", provider="kubernetes", kind="k8s_service_account",
        name=sa, path=ns, environment=env, privilege="admin" if admin else g.privilege(0, 0.4),
        permissions_summary=", ".join(attrs.get("bindings", [f"Role/{ns}/{sa}"])),
        auth_method="static_secret" if legacy else "short_lived_token",
        created_at_source=created,
        last_used_at=g.last_used(created, never=0.1 if sa != "default" else 0.6),
        tags=[ns], attributes=attrs,
        owner_hints=g.hints(team, purpose, zone, orphan=0.7 if sa == "default" else 0.3,
                            workload=f"{ns}/{sa}"),
        credentials=creds)


