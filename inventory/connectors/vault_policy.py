"""Vault ACL policies -> a privilege level, for the vault connector.

Policies are read from `sys/policies/acl/<name>` (HCL or JSON text) and parsed here with
a small scanner for the one construct that matters, `path "<glob>" { capabilities = [..] }`;
nested blocks (allowed_parameters, ...) are skipped. Levels, highest wins:

* **admin**: the `root` policy; any rule with `sudo`; any grant on the `*` path (every
  secret and every system path); a write-ish grant (create/update/delete/patch) on a path
  that lets the holder raise its own privileges (policies, auth methods, mounts, identity
  groups and entities, `sys/*`).
* **write**: create/update/delete/patch anywhere else.
* **read**: only read/list (or subscribe), and `update` on lookup endpoints
  (`.../lookup`, `lookup-accessor`, `capabilities-self`...), which Vault serves as writes.

Rules with `deny` grant nothing. The self-service paths of the built-in `default`
policy (own token, own cubbyhole, leases, wrapping, tools) are ignored, so an identity
that only has `default` is not "write". Identity-group and entity policies attached
outside the role or token are not seen. A policy the token may not read makes the result
a lower bound: it is reported in `unreadable` and `privilege` is `unknown` when nothing
readable grants anything. Policies that grant nothing at all count as `read`, the lowest
level.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from inventory.choices import Privilege
from inventory.connectors.base import AccessDenied

WRITE_CAPS = frozenset({"create", "update", "delete", "patch"})
READ_CAPS = frozenset({"read", "list", "subscribe"})
_RANK = {Privilege.UNKNOWN: 0, Privilege.READ: 1, Privilege.WRITE: 2, Privilege.ADMIN: 3}

# Paths of the built-in `default` policy: acting on oneself, not on anything else.
SELF_SERVICE = frozenset({
    "auth/token/lookup-self", "auth/token/renew-self", "auth/token/revoke-self",
    "sys/capabilities-self", "identity/entity/id/{{identity.entity.id}}",
    "identity/entity/name/{{identity.entity.name}}", "sys/internal/ui/resultant-acl",
    "sys/leases/renew", "sys/leases/lookup", "sys/renew", "sys/wrapping/wrap",
    "sys/wrapping/lookup", "sys/wrapping/unwrap", "sys/tools/hash", "sys/tools/hash/*",
    "identity/oidc/provider/+/authorize", "sys/control-group/request",
})
# Endpoints that Vault serves as `update` although they only look things up.
LOOKUP_ENDPOINTS = frozenset({"lookup", "lookup-accessor", "lookup-self", "capabilities",
                              "capabilities-self", "capabilities-accessor"})
# Sample paths whose write access is a way to grant oneself more: a rule whose glob
# matches one of them is admin.
ESCALATION_SAMPLES = (
    "sys/policies/acl/x", "sys/policy/x", "sys/auth/x", "sys/mounts/x", "sys/raw/x",
    "identity/group/id/x", "identity/entity/id/x", "identity/entity-alias/id/x",
)


@dataclass(frozen=True)
class Rule:
    """One `path` stanza of a policy."""

    path: str
    capabilities: frozenset[str]


def _strip_comments(text: str) -> str:
    """Remove #, // and /* */ comments outside double-quoted strings."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        ch = text[i]
        if in_str:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            out.append(ch)
        elif ch == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _block_end(text: str, start: int) -> int:
    """Index just after the `}` closing the `{` at `start` (strings respected)."""
    depth, i, in_str = 0, start, False
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


_PATH_HEAD = re.compile(r'\bpath\s*"((?:[^"\\]|\\.)*)"\s*=?\s*\{')
_CAPS = re.compile(r"\bcapabilities\s*=\s*\[([^\]]*)\]")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _hcl_rules(text: str) -> list[Rule]:
    text, rules, pos = _strip_comments(text), [], 0
    while match := _PATH_HEAD.search(text, pos):
        end = _block_end(text, match.end() - 1)
        body = text[match.end():end - 1]
        # Only the block's own capabilities, not a nested block's.
        nested = re.sub(r"\{[^{}]*\}", "", body)
        caps = _CAPS.search(nested)
        names = _QUOTED.findall(caps.group(1)) if caps else []
        rules.append(Rule(match.group(1), frozenset(c.strip().lower() for c in names)))
        pos = end
    return rules


def _json_rules(doc: object) -> list[Rule]:
    paths = doc.get("path") if isinstance(doc, dict) else None
    items = []
    if isinstance(paths, dict):
        items = list(paths.items())
    elif isinstance(paths, list):  # HCL-JSON allows a list of one-key objects
        items = [kv for entry in paths if isinstance(entry, dict) for kv in entry.items()]
    rules = []
    for path, body in items:
        body = body[0] if isinstance(body, list) and body else body
        caps = body.get("capabilities", []) if isinstance(body, dict) else []
        rules.append(Rule(str(path), frozenset(str(c).lower() for c in caps or [])))
    return rules


def parse_policy(text: str) -> list[Rule]:
    """The path rules of a policy written in HCL or JSON."""
    stripped = (text or "").strip()
    if stripped.startswith("{"):
        try:
            return _json_rules(json.loads(stripped))
        except ValueError:
            pass  # not JSON after all: an HCL body that happens to start with a brace
    return _hcl_rules(stripped)


def _glob_regex(path: str) -> re.Pattern:
    pattern = re.escape(path.rstrip("*")).replace(r"\+", "[^/]+")
    return re.compile(pattern + (".*" if path.endswith("*") else "") + r"\Z")


def rule_level(rule: Rule) -> tuple[str | None, str]:
    """(privilege or None, reason) for one rule."""
    caps = rule.capabilities
    if "deny" in caps or not caps or rule.path in SELF_SERVICE \
            or rule.path.startswith("cubbyhole/"):
        return None, ""
    if "sudo" in caps:
        return Privilege.ADMIN, f'sudo on "{rule.path}"'
    if rule.path in ("*", "+/*"):
        return Privilege.ADMIN, f'{"/".join(sorted(caps))} on every path "{rule.path}"'
    if caps & WRITE_CAPS == {"update"} and rule.path.rsplit("/", 1)[-1] in LOOKUP_ENDPOINTS:
        return Privilege.READ, f'lookups on "{rule.path}"'
    if caps & WRITE_CAPS:
        regex = _glob_regex(rule.path)
        if rule.path.startswith("sys/*") or any(regex.match(s) for s in ESCALATION_SAMPLES):
            return Privilege.ADMIN, f'write on "{rule.path}" (can grant itself more)'
        return Privilege.WRITE, f'write on "{rule.path}"'
    if caps & READ_CAPS:
        return Privilege.READ, f'read on "{rule.path}"'
    return None, ""


@dataclass
class Assessment:
    """What a set of policies allows, summarised."""

    privilege: str = Privilege.UNKNOWN
    reason: str = ""
    policies: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"policies: {', '.join(self.policies) or 'none'}"
        if self.reason:
            text += f"; {self.privilege} via {self.reason}"
        if self.unreadable:
            text += f"; not readable: {', '.join(self.unreadable)}"
        return text


class PolicyBook:
    """Reads each policy once per run and assesses sets of policy names."""

    def __init__(self, vault):
        self.vault = vault
        self._rules: dict[str, list[Rule] | None] = {}

    def rules(self, name: str) -> list[Rule] | None:
        """The policy's rules; [] when it does not exist, None when we may not read it."""
        if name not in self._rules:
            try:
                data = self.vault.read(f"sys/policies/acl/{name}")
            except AccessDenied:
                self._rules[name] = None
            else:
                # A policy that does not exist grants nothing (Vault ignores it).
                self._rules[name] = parse_policy(str((data or {}).get("policy") or ""))
        return self._rules[name]

    def assess(self, names: list[str], *, with_default: bool = False) -> Assessment:
        """Privilege of a token holding `names` (plus `default` when the role adds it)."""
        names = sorted({str(n) for n in names if n})
        result = Assessment(policies=names)
        evaluate = sorted(set(names) | ({"default"} if with_default else set()))
        for name in evaluate:
            if name == "root":
                self._raise(result, Privilege.ADMIN, "the root policy")
                continue
            rules = self.rules(name)
            if rules is None:
                result.unreadable.append(name)
                continue
            for rule in rules:
                level, why = rule_level(rule)
                if level:
                    self._raise(result, level, f"policy '{name}' ({why})")
        if result.privilege == Privilege.UNKNOWN and not result.unreadable:
            # Everything was readable and nothing is granted beyond self-service.
            result.privilege = Privilege.READ
        return result

    @staticmethod
    def _raise(result: Assessment, level: str, reason: str) -> None:
        if _RANK[level] > _RANK[Privilege(result.privilege)]:
            result.privilege, result.reason = level, reason
