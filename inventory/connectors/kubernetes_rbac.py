"""RBAC resolution for the Kubernetes connector: which RoleBindings and
ClusterRoleBindings reach a service account, and what privilege level their rules add up to.

Subjects that reach a service account `ns/name`:
  * `ServiceAccount` subjects (namespace defaults to the RoleBinding's own namespace);
  * `User` subjects named `system:serviceaccount:<ns>:<name>` (the SA's username);
  * `Group` subjects `system:serviceaccounts` (every SA) and `system:serviceaccounts:<ns>`.
`system:authenticated` is left out on purpose: it reaches every identity, human or not,
and carries the cluster's baseline (discovery) grants, which would add the same noise to
every account.

Privilege (highest wins):
  * admin: bound to the `cluster-admin` ClusterRole (in any scope: even a RoleBinding to it
    is full control of the namespace, secrets included); a rule with verbs `*` AND resources
    `*`; wildcard verbs on any resource cluster-wide; get/list/watch on secrets
    cluster-wide; or `escalate`, `bind`, `impersonate` anywhere (each lets the holder give
    itself more than it has);
  * write: any create/update/patch/delete/deletecollection verb, or wildcard verbs;
  * read: everything else.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

SA_USER_PREFIX = "system:serviceaccount:"
ALL_SA_GROUP = "system:serviceaccounts"
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
ESCALATION_VERBS = frozenset({"escalate", "bind", "impersonate"})
READ_SECRET_VERBS = frozenset({"get", "list", "watch", "*"})  # watch streams the values too
RANK = {"read": 0, "write": 1, "admin": 2}


@dataclass(frozen=True, eq=False)
class Grant:
    """One binding that reaches a service account, with the rules of its role."""

    binding: str  # "ClusterRoleBinding/name" or "RoleBinding/ns/name"
    role: str  # "ClusterRole/name" or "Role/name"
    scope: str  # "cluster" or the namespace the binding grants in
    via: str  # "" for a direct ServiceAccount subject, else the User/Group that matched
    rules: tuple
    role_found: bool

    def label(self) -> str:
        scope = "cluster" if self.scope == "cluster" else f"namespace {self.scope}"
        text = f"{self.role} ({scope})"
        if self.via:
            text += f" via {self.via}"
        return text if self.role_found else text + " [role not found]"

    def as_dict(self) -> dict:
        return {"binding": self.binding, "role": self.role, "scope": self.scope,
                "via": self.via, "role_found": self.role_found}


class RbacIndex:
    """All bindings of the cluster (or of the namespaces read), indexed by subject."""

    def __init__(self, roles: list[dict], cluster_roles: list[dict], bindings: list[dict],
                 cluster_bindings: list[dict]):
        self._roles = {(_meta(r, "namespace"), _meta(r, "name")): _rules(r) for r in roles}
        self._cluster_roles = {_meta(r, "name"): _rules(r) for r in cluster_roles}
        self._by_sa: dict[tuple[str, str], list[Grant]] = defaultdict(list)
        self._by_group: dict[str, list[Grant]] = defaultdict(list)
        for binding in cluster_bindings:
            self._add(binding, namespace=None)
        for binding in bindings:
            self._add(binding, namespace=_meta(binding, "namespace"))

    def grants_for(self, namespace: str, name: str) -> list[Grant]:
        found = (self._by_sa.get((namespace, name), []) + self._by_group.get(ALL_SA_GROUP, [])
                 + self._by_group.get(f"{ALL_SA_GROUP}:{namespace}", []))
        unique = {(g.binding, g.via): g for g in found}  # rules (dicts) are unhashable
        # Direct grants first: group grants (the same for many accounts) say less.
        return sorted(unique.values(), key=lambda g: (g.via.startswith("Group"),
                                                      g.scope != "cluster", g.scope, g.role,
                                                      g.binding, g.via))

    def _add(self, binding: dict, namespace: str | None) -> None:
        ref = binding.get("roleRef") or {}
        kind, role_name = ref.get("kind", ""), ref.get("name", "")
        if kind == "ClusterRole":
            rules = self._cluster_roles.get(role_name)
        elif kind == "Role" and namespace:
            rules = self._roles.get((namespace, role_name))
        else:
            rules = None
        label = f"RoleBinding/{namespace}/{_meta(binding, 'name')}" if namespace else \
            f"ClusterRoleBinding/{_meta(binding, 'name')}"
        for subject in binding.get("subjects") or []:
            target, via = _subject_target(subject, namespace)
            if target is None:
                continue
            grant = Grant(binding=label, role=f"{kind}/{role_name}", scope=namespace or "cluster",
                          via=via, rules=tuple(rules or ()), role_found=rules is not None)
            if isinstance(target, str):
                self._by_group[target].append(grant)
            else:
                self._by_sa[target].append(grant)


def _subject_target(subject: dict, namespace: str | None):
    """(ns, name) for a service account subject, a group name for an SA group, else None."""
    kind, name = subject.get("kind"), subject.get("name") or ""
    if kind == "ServiceAccount" and name:
        return (subject.get("namespace") or namespace or "", name), ""
    if kind == "User" and name.startswith(SA_USER_PREFIX):
        ns, _, sa = name.removeprefix(SA_USER_PREFIX).partition(":")
        return ((ns, sa), f"User {name}") if ns and sa else (None, "")
    if kind == "Group" and (name == ALL_SA_GROUP or name.startswith(ALL_SA_GROUP + ":")):
        return name, f"Group {name}"
    return None, ""


def _meta(obj: dict, key: str) -> str:
    return str((obj.get("metadata") or {}).get(key) or "")


def _rules(role: dict) -> list[dict]:
    return [r for r in role.get("rules") or [] if isinstance(r, dict)]


@dataclass
class Assessment:
    """What a set of grants adds up to."""

    privilege: str
    reasons: list[str]
    secrets_access: bool


def assess(grants: list[Grant], complete: bool) -> Assessment:
    """The privilege level of a service account from the grants that reach it. With no
    grants it is "read" (only the baseline every authenticated identity has) when every
    binding of the cluster was read, and "unknown" when the `namespaces` restriction hid
    RoleBindings elsewhere that may name it."""
    if not grants:
        return Assessment("read" if complete else "unknown", [], False)
    level, reasons, secrets = "read", [], False
    for grant in grants:
        for rank, reason, reads_secrets in _grant_findings(grant):
            secrets = secrets or reads_secrets
            if reason:
                reasons.append(reason)
            if RANK[rank] > RANK[level]:
                level = rank
    return Assessment(level, list(dict.fromkeys(reasons)), secrets)


def _grant_findings(grant: Grant):
    where = "cluster-wide" if grant.scope == "cluster" else f"in namespace {grant.scope}"
    if grant.role == "ClusterRole/cluster-admin":
        yield "admin", f"bound to cluster-admin {where}", True
    for rule in grant.rules:
        yield _rule_finding(rule, grant.scope == "cluster", where, grant.role)


def _rule_finding(rule: dict, cluster: bool, where: str, role: str):
    verbs = {str(v).lower() for v in rule.get("verbs") or []}
    resources = {str(r).lower() for r in rule.get("resources") or []}
    groups = {str(g) for g in rule.get("apiGroups") or []}
    named = bool(rule.get("resourceNames"))
    core = "" in groups or "*" in groups
    reads_secrets = bool(core and ({"secrets", "*"} & resources) and verbs & READ_SECRET_VERBS)
    if "*" in verbs and "*" in resources:
        return "admin", f"{role}: all verbs on all resources {where}", reads_secrets
    if "*" in verbs and resources and cluster and not named:
        return "admin", f"{role}: all verbs on {', '.join(sorted(resources))} {where}", \
            reads_secrets
    if reads_secrets and cluster and not named:
        return "admin", f"{role}: can read secrets {where}", True
    if not resources:  # a nonResourceURLs rule (/healthz, /metrics): HTTP verbs
        return ("write" if verbs & {"*", "post", "put", "patch", "delete"} else "read"), "", \
            False
    if verbs & ESCALATION_VERBS:
        return "admin", f"{role}: {', '.join(sorted(verbs & ESCALATION_VERBS))} {where}", \
            reads_secrets
    if "*" in verbs or verbs & WRITE_VERBS:
        return "write", "", reads_secrets
    return "read", "", reads_secrets


def summary(grants: list[Grant], complete: bool, limit: int = 12) -> str:
    """Short human text: the roles bound, e.g. "ClusterRole/cluster-admin (cluster)"."""
    if not grants:
        return "no RBAC bindings" + ("" if complete else " in the namespaces read")
    labels = list(dict.fromkeys(g.label() for g in grants))
    text = "; ".join(labels[:limit])
    return text + (f"; and {len(labels) - limit} more" if len(labels) > limit else "")
