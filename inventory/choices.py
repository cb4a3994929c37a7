"""Enumerations shared by the register's models, filters, forms and API."""

from django.db import models


class Provider(models.TextChoices):
    AWS = "aws", "AWS"
    KUBERNETES = "kubernetes", "Kubernetes"
    VAULT = "vault", "Vault"
    CERTIFICATE = "certificate", "Certificate authority"
    GITHUB = "github", "GitHub"
    SAAS = "saas", "SaaS / vendor"
    DATABASE = "database", "Database"
    OTHER = "other", "Other"


class IdentityKind(models.TextChoices):
    SERVICE_ACCOUNT = "service_account", "Service account"
    IAM_USER = "iam_user", "IAM user"
    CLOUD_ROLE = "cloud_role", "Cloud workload role"
    K8S_SERVICE_ACCOUNT = "k8s_service_account", "Kubernetes service account"
    VAULT_APPROLE = "vault_approle", "Vault AppRole"
    VAULT_TOKEN = "vault_token", "Vault token"
    VAULT_AUTH_ROLE = "vault_auth_role", "Vault auth role"
    SECRET = "secret", "Stored secret"
    API_KEY = "api_key", "API key"
    OAUTH_CLIENT = "oauth_client", "OAuth client"
    CERTIFICATE = "certificate", "X.509 certificate"
    SSH_KEY = "ssh_key", "SSH key"


class Zone(models.TextChoices):
    """The four network/security zones of DESIGN.md; each identity has a home zone."""

    ACCESS = "access", "Access"
    MANAGEMENT = "management", "Management"
    COMPUTE = "compute", "Compute"
    STORAGE = "storage", "Storage"


class Privilege(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Write"
    ADMIN = "admin", "Admin"
    UNKNOWN = "unknown", "Unknown"


class AuthMethod(models.TextChoices):
    STATIC_SECRET = "static_secret", "Static secret"
    SHORT_LIVED_TOKEN = "short_lived_token", "Short-lived token"
    WORKLOAD_FEDERATION = "workload_federation", "Workload federation"
    CERTIFICATE = "certificate", "Certificate"
    PASSWORD = "password", "Password"
    UNKNOWN = "unknown", "Unknown"


class IdentityStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"
    MISSING = "missing", "Missing"
    DEPROVISIONED = "deprovisioned", "Deprovisioned"


class CredentialKind(models.TextChoices):
    ACCESS_KEY = "access_key", "Access key"
    API_KEY = "api_key", "API key"
    SECRET_ID = "secret_id", "Vault secret-id"
    TOKEN = "token", "Token"
    TOKEN_SECRET = "token_secret", "Token secret"
    CERTIFICATE = "certificate", "Certificate"
    SSH_KEY = "ssh_key", "SSH key"
    PASSWORD = "password", "Password"
    CLIENT_SECRET = "client_secret", "Client secret"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class SourceKind(models.TextChoices):
    AWS = "aws", "AWS IAM"
    KUBERNETES = "kubernetes", "Kubernetes"
    VAULT = "vault", "Vault / OpenBao"
    CERTIFICATES = "certificates", "Certificates"
    FILE = "file", "File import"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    HELD = "held", "Held for review"
