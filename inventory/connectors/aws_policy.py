"""Pure analysis of AWS IAM policy documents: privilege levels and role trust.

No SDK and no network here, so every rule is testable with plain dicts.

Privilege levels, strongest first:

* **admin** — AdministratorAccess or IAMFullAccess is attached, or an Allow statement
  grants `*`, `*:*` or `iam:*` on Resource `*` (whoever holds `iam:*` can grant itself
  everything, so it counts as admin).
* **write** — some allowed action is not read-only. Read-only means the action name
  starts with Get, List, Describe or BatchGet (wildcards included: `s3:Get*` is read,
  `s3:*` is write). An Allow with `NotAction` is treated as write: it grants everything
  except a list, which is never read-only in practice (PowerUserAccess).
* **read** — only read-only actions, or no permissions at all.
* AWS's own read-only job policies (`*ReadOnlyAccess`, ViewOnlyAccess, SecurityAudit)
  are read whatever verbs their documents list.
* **unknown** — a policy whose document could not be read, unless something else
  already makes the identity admin.

Deny statements, conditions and permission boundaries do not lower the level: the
register flags what a policy *could* allow and leaves the fine print to the analyst.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote

ADMIN_POLICY_NAMES = frozenset({"AdministratorAccess", "IAMFullAccess"})
READ_PREFIXES = ("get", "list", "describe", "batchget")
ADMIN_ACTIONS = frozenset({"*", "*:*", "iam:*"})
# Rank used to combine levels; "none" (a policy that allows nothing) ranks lowest.
RANK = {"none": 0, "read": 1, "write": 2, "unknown": 3, "admin": 4}
# A `sub` condition whose fixed part is only one of these still lets anyone in: any
# GitHub repository ("repo:*") or any Kubernetes service account in any namespace.
_UNRESTRICTED_SUB_PREFIXES = ("", "repo:", "system:serviceaccount:")


@dataclass
class PolicyGrant:
    """One policy as it applies to an identity, with the level its document grants."""

    name: str
    via: str  # attached | inline | group <name> | group <name> inline
    level: str
    arn: str = ""

    def as_dict(self) -> dict:
        data = {"name": self.name, "via": self.via, "level": self.level}
        return data | ({"arn": self.arn} if self.arn else {})


def as_list(value: object) -> list:
    """IAM accepts a single value or a list almost everywhere."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def load_document(document: object) -> dict | None:
    """Policy documents arrive decoded by botocore, but some APIs (and older SDKs) hand
    over the URL-encoded JSON text; None when it cannot be parsed."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, str) or not document:
        return None
    try:
        loaded = json.loads(unquote(document))
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _statements(document: dict) -> list[dict]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, dict)]


def _is_read_action(action: str) -> bool:
    verb = action.split(":", 1)[1] if ":" in action else action
    return verb.lower().startswith(READ_PREFIXES)


def _statement_level(statement: dict) -> str:
    if statement.get("Effect") != "Allow":
        return "none"
    if "NotAction" in statement:
        return "write"
    actions = [str(a) for a in as_list(statement.get("Action"))]
    resources = [str(r) for r in as_list(statement.get("Resource"))]
    if "*" in resources and any(a.lower() in ADMIN_ACTIONS for a in actions):
        return "admin"
    if not actions:
        return "none"
    return "read" if all(_is_read_action(a) for a in actions) else "write"


def document_level(document: object) -> str:
    """The level one policy document grants: admin, write, read or none; unknown when
    the document is missing or unreadable."""
    loaded = load_document(document)
    if loaded is None:
        return "unknown"
    return max((_statement_level(s) for s in _statements(loaded)), key=RANK.get, default="none")


def is_aws_admin_policy(arn: str) -> bool:
    """AWS's own AdministratorAccess / IAMFullAccess (a customer policy that merely shares
    the name is judged by its document)."""
    return ":iam::aws:policy/" in arn and arn.rsplit("/", 1)[-1] in ADMIN_POLICY_NAMES


def is_aws_read_only_policy(arn: str) -> bool:
    """AWS's own read-only job policies (ReadOnlyAccess, AmazonS3ReadOnlyAccess,
    ViewOnlyAccess, SecurityAudit): AWS keeps them read-only, though their documents list
    verbs such as `cloudtrail:LookupEvents` that the prefix rule would call write."""
    name = arn.rsplit("/", 1)[-1]
    return ":iam::aws:policy/" in arn and (
        name.endswith("ReadOnlyAccess") or name in {"ViewOnlyAccess", "SecurityAudit"})


def managed_policy_level(arn: str, document: object) -> str:
    """AWS's well-known admin and read-only policies are judged by name, whatever their
    current document says; every other policy by its document."""
    if is_aws_admin_policy(arn):
        return "admin"
    return "read" if is_aws_read_only_policy(arn) else document_level(document)


def combined_level(grants: list[PolicyGrant], readable: bool = True) -> str:
    """The identity's privilege: the strongest grant; no grants at all is read; policies
    that could not be listed make it unknown (unless a grant already shows admin)."""
    level = max((g.level for g in grants), key=RANK.get, default="none")
    if not readable and level != "admin":
        return "unknown"
    return "read" if level == "none" else level


def summarise(level: str, grants: list[PolicyGrant], readable: bool = True,
              limit: int = 8) -> str:
    """Short human text: the level, then the policies that set it first."""
    if not readable:
        return "unknown: policies could not be read (iam:GetAccountAuthorizationDetails denied)"
    if not grants:
        return "read: no policies attached"
    ordered = sorted(grants, key=lambda g: (-RANK[g.level], g.name))
    parts = [f"{g.name} ({g.via}, {g.level})" for g in ordered[:limit]]
    if len(ordered) > limit:
        parts.append(f"+{len(ordered) - limit} more")
    return f"{level}: " + "; ".join(parts)


# --- role trust ---------------------------------------------------------------------

def _account_of(principal: str) -> str:
    """'123456789012', 'arn:aws:iam::123456789012:root' or a role/user ARN -> the account;
    '*' stays '*' (anyone in any account)."""
    if principal.isdigit() or principal == "*":
        return principal
    parts = principal.split(":")
    return parts[4] if len(parts) > 4 and parts[4] else principal


def _oidc_host(federated: str) -> str:
    """'arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com' -> the host
    (and path) the condition keys are prefixed with. Public web identity providers
    (accounts.google.com, cognito-identity.amazonaws.com) are named as they are."""
    if ":oidc-provider/" in federated:
        return federated.split(":oidc-provider/", 1)[1]
    return federated


def _sub_values(statement: dict, host: str) -> list[str] | None:
    """Values of positive string conditions on `<host>:sub`, or None when there is none.
    `...IfExists` and negated operators do not restrict: a token without the claim, or
    with any other value, would still match them. Cognito identity pools are pinned by
    `aud` (the pool id), so that key stands in for `sub` there."""
    claim = "aud" if host == "cognito-identity.amazonaws.com" else "sub"
    key = f"{host}:{claim}".lower()
    values: list[str] | None = None
    for operator, block in (statement.get("Condition") or {}).items():
        op = operator.lower()
        if not isinstance(block, dict) or "string" not in op or "not" in op \
                or op.endswith("ifexists"):
            continue
        for cond_key, cond_values in block.items():
            if cond_key.lower() == key:
                values = (values or []) + [str(v) for v in as_list(cond_values)]
    return values


def _restricts(values: list[str] | None) -> bool:
    if not values:
        return False
    return all(v.split("*")[0].split("?")[0] not in _UNRESTRICTED_SUB_PREFIXES for v in values)


def _principal_map(statement: dict) -> dict[str, list[str]]:
    principal = statement.get("Principal")
    if principal == "*":
        return {"AWS": ["*"]}
    if not isinstance(principal, dict):
        return {}
    return {k: [str(v) for v in as_list(values)] for k, values in principal.items()}


def analyse_trust(document: object, own_account: str = "") -> dict:
    """Who may assume a role, from its trust policy: services, AWS accounts (and the
    principal ARNs), OIDC providers with whether each restricts the token's `sub`, SAML
    providers, and whether anyone at all may assume it. `oidc_sub_restricted` is the
    overall answer: False as soon as one OIDC provider is trusted without a `sub`
    restriction, True otherwise (also when no OIDC provider is trusted)."""
    loaded = load_document(document)
    trust: dict = {"services": set(), "accounts": set(), "aws_principals": set(),
                   "oidc_providers": set(), "saml_providers": set()}
    restricted: dict[str, bool] = {}
    for statement in _statements(loaded or {}):
        if statement.get("Effect") != "Allow":
            continue
        principals = _principal_map(statement)
        trust["services"].update(principals.get("Service", []))
        for aws in principals.get("AWS", []):
            trust["aws_principals"].add(aws)
            trust["accounts"].add(_account_of(aws))
        for federated in principals.get("Federated", []):
            _add_federated(trust, restricted, statement, federated)
    result = {key: sorted(values) for key, values in trust.items()}
    result["oidc_sub_restricted_by_provider"] = dict(sorted(restricted.items()))
    result["oidc_sub_restricted"] = all(restricted.values())
    result["external_accounts"] = [a for a in result["accounts"] if a != own_account]
    result["anyone"] = "*" in result["accounts"]
    result["readable"] = loaded is not None
    return result


def _add_federated(trust: dict, restricted: dict[str, bool], statement: dict,
                   federated: str) -> None:
    if ":saml-provider/" in federated:
        trust["saml_providers"].add(federated.split(":saml-provider/", 1)[1])
        return
    host = _oidc_host(federated)
    trust["oidc_providers"].add(host)
    # A provider trusted by several statements is restricted only if each one is.
    ok = _restricts(_sub_values(statement, host))
    restricted[host] = restricted.get(host, True) and ok
