"""The facts query: one row per identity with everything the rules read, computed in one
pass over the register (identity joined with credential aggregates, owners, source,
environment and the previous verdict), then the rule mask, score and classification.

Levels, each a subquery aliased `f` and fenced (OFFSET 0) so that the planner computes
an expression once instead of inlining it wherever the next level mentions it:

1. `facts`: identity columns, credential aggregates (`cred`), owner-left flag, source
   name, environment slug, and the stored verdict (`old_*`).
2. derived: home zone, zones reached, zones covered by exceptions, dormancy and the
   moment a dormant identity was seen in use again.
3. the mask: bit `rule.bit` set where the rule's condition holds (active identities).
4. score and classification.

Rules are written against level 2's columns (see COLUMNS below).
"""

# SQL is assembled from code-defined fragments; every value from the policy, the clock or
# the database is bound as a parameter (Builder.p), never formatted in.
# ruff: noqa: S608

from __future__ import annotations

import uuid
from collections.abc import Callable

from inventory.choices import Zone
from inventory.risk.policy import Policy
from inventory.risk.registry import Rule
from inventory.risk.sql import Builder

ZONE_BITS = {Zone.ACCESS: 1, Zone.MANAGEMENT: 2, Zone.COMPUTE: 4, Zone.STORAGE: 8}
STATIC_KINDS = ("access_key", "api_key", "secret_id", "token_secret", "client_secret",
                "ssh_key")
EXPIRING_KINDS = ("token", "secret_id", "client_secret", "api_key")

IDENTITY_COLUMNS = (
    "id", "code", "status", "kind", "provider", "privilege", "auth_method",
    "interactive_login", "name", "path", "purpose", "workload", "tags", "attributes",
    "permissions_summary", "created_at_source", "first_seen_at", "last_used_at",
    "last_rotated_at", "expires_at", "last_attested_at", "next_review_due", "zone",
    "environment_id", "technical_owner_id", "business_owner_id", "backup_owner_id",
    "team_id", "source_id", "risk_score", "deprovision_requested_at",
)
# Besides the identity columns, what rules may read from `f`: credential aggregates,
# facts from the JSON attributes (extracted once per row), the owner-left flag, source and
# environment names, zones, dormancy, and the identity's policy values (by its class).
COLUMNS = (
    "cred_count", "static_active", "static_oldest", "rsa_min", "ecc_min", "dsa_keys",
    "no_expiry", "longest_validity", "password_used", "leaked", "multi_env", "reused",
    "grants", "tags_text", "j_oidc_open", "j_unbounded", "j_anyone", "j_root",
    "j_ext_accounts", "j_profiles", "j_mfa", "j_pwd_used", "j_key_type", "j_key_size",
    "a_account", "a_namespace", "owner_left", "source_name", "env_slug", "home_zone",
    "reach", "exc_bits", "is_dormant", "reactivated_at", "rotation_cut", "review_cut",
    "warn_until", "max_life", "min_rsa", "min_ecc",
)


def fence(b: Builder) -> str:
    return "OFFSET 0" if b.pg else "LIMIT -1 OFFSET 0"


def match_sql(b: Builder, match: dict[str, tuple[str, ...]]) -> str:
    """A policy class or zone rule's `match` as SQL over `f` (all keys must hold)."""
    parts = []
    for key, values in match.items():
        if key in ("kind", "privilege", "provider", "auth_method"):
            parts.append(b.in_list(f"f.{key}", values))
        elif key == "environment":
            parts.append(b.in_list("f.env_slug", values))
        elif key == "source":
            parts.append(b.like_any("f.source_name", values))
        elif key in ("path", "name"):
            parts.append(b.like_any(f"f.{key}", values))
        elif key == "account":
            parts.append(b.in_list("f.a_account", values))
        elif key == "namespace":
            parts.append(b.like_any("f.a_namespace", values))
        elif key == "grant":
            parts.append(b.like_any("f.grants", values, lowered=True))
    return "(" + " AND ".join(parts or ["1 = 1"]) + ")"


def per_class(b: Builder, policy: Policy, key: str, render: Callable[[int | None], str]) -> str:
    """The policy value of `key` for each identity, rendered by `render` (None = off)."""
    tiers, default = policy.tiers(key)
    if not tiers:
        return render(default)
    whens = " ".join(f"WHEN {match_sql(b, m)} THEN {render(v)}" for m, v in tiers)
    return f"(CASE {whens} ELSE {render(default)} END)"


def cutoff(b: Builder, policy: Policy, key: str) -> str:
    """now minus the identity's `key` days (NULL where the policy sets no limit)."""
    return per_class(b, policy, key, lambda d: "NULL" if d is None else b.ago(d))


def _cred(b: Builder, scoped: bool) -> str:
    active = "c.status = 'active'"
    static = f"{active} AND {b.in_list('c.kind', STATIC_KINDS)}"
    expiring = f"{active} AND {b.in_list('c.kind', EXPIRING_KINDS)}"
    created = "COALESCE(c.created_at_source, c.first_seen_at)"
    where = "WHERE c.identity_id IN (SELECT id FROM risk_scope)" if scoped else ""
    return f"""
    SELECT c.identity_id, COUNT(*) AS cred_count,
      SUM(CASE WHEN {static} THEN 1 ELSE 0 END) AS static_active,
      MIN(CASE WHEN {static} THEN {created} END) AS static_oldest,
      MIN(CASE WHEN {active} AND UPPER(c.key_algorithm) = 'RSA' THEN c.key_size END) AS rsa_min,
      MIN(CASE WHEN {active} AND UPPER(c.key_algorithm) IN ('EC', 'ECDSA')
          THEN c.key_size END) AS ecc_min,
      SUM(CASE WHEN {active} AND UPPER(c.key_algorithm) = 'DSA' THEN 1 ELSE 0 END) AS dsa_keys,
      SUM(CASE WHEN {expiring} AND c.expires_at IS NULL THEN 1 ELSE 0 END) AS no_expiry,
      MAX(CASE WHEN {active} AND c.expires_at IS NOT NULL
          THEN {b.days_between(created, 'c.expires_at')} END) AS longest_validity,
      MAX(CASE WHEN c.kind = 'password' THEN c.last_used_at END) AS password_used,
      SUM(CASE WHEN {active} AND lk.credential_id IS NOT NULL THEN 1 ELSE 0 END) AS leaked,
      MAX(CASE WHEN {active} THEN COALESCE(sh.multi_env, 0) ELSE 0 END) AS multi_env,
      MAX(CASE WHEN {active} THEN COALESCE(sh.reused, 0) ELSE 0 END) AS reused
    FROM inventory_credential c
    LEFT JOIN (SELECT credential_id FROM inventory_leakreport WHERE credential_id IS NOT NULL
               UNION SELECT k.id FROM inventory_credential k JOIN inventory_leakreport l
               ON l.key_id = k.external_id WHERE l.key_id <> '') lk ON lk.credential_id = c.id
    LEFT JOIN shared sh ON sh.fingerprint = c.fingerprint
    {where}
    GROUP BY c.identity_id"""


def _shared(scoped: bool) -> str:
    """Fingerprints held by several active identities: in several environments (NHI8),
    or a key (not a certificate, which is often rightly deployed twice) shared (NHI9).
    Candidates come from the credential table alone (usually a handful); only they are
    joined to their identities."""
    narrow = ("AND s.fingerprint IN (SELECT k.fingerprint FROM inventory_credential k "
              "WHERE k.identity_id IN (SELECT id FROM risk_scope) AND k.fingerprint <> '')"
              if scoped else "")
    candidates = f"""SELECT s.fingerprint FROM inventory_credential s
      WHERE s.fingerprint <> '' AND s.status = 'active' {narrow}
      GROUP BY s.fingerprint HAVING MIN(s.identity_id) <> MAX(s.identity_id)"""
    return f"""
    SELECT c.fingerprint,
      CASE WHEN COUNT(DISTINCT COALESCE(i.environment_id, 0)) > 1 THEN 1 ELSE 0 END
        AS multi_env,
      CASE WHEN MAX(CASE WHEN c.kind <> 'certificate' THEN 1 ELSE 0 END) = 1 THEN 1 ELSE 0 END
        AS reused
    FROM inventory_credential c JOIN inventory_identity i ON i.id = c.identity_id
    WHERE c.status = 'active' AND i.status = 'active' AND c.fingerprint IN ({candidates})
    GROUP BY c.fingerprint
    HAVING COUNT(DISTINCT c.identity_id) > 1"""


def _json_facts(b: Builder) -> dict[str, str]:
    """Facts from the JSON attributes, each extracted once per row (rules read these
    columns rather than the JSON, so a large, toasted document is decoded once)."""
    a = "i.attributes"

    def flag(*path, value=True) -> str:
        return f"CASE WHEN {b.jflag(a, *path, value=value)} THEN 1 ELSE 0 END"

    grants = " || ' ' || ".join([f"COALESCE({b.jtext(a, k)}, '')" for k in (
        "policies", "bindings", "token_policies", "privilege_reasons")] + [
        "i.permissions_summary"])
    return {
        "grants": f"LOWER({grants})",  # what the identity may do, as searchable text
        "tags_text": f"LOWER({b.json_all('i.tags')})",
        "j_oidc_open": flag("trust", "oidc_sub_restricted", value=False),
        "j_unbounded": flag("unbounded"),
        "j_anyone": flag("trust", "anyone"),
        "j_root": flag("root"),
        "j_ext_accounts": b.jlen(a, "trust", "external_accounts"),
        "j_profiles": b.jlen(a, "instance_profiles"),
        "j_mfa": b.jnum(a, "mfa_devices"),
        "j_pwd_used": b.jtext(a, "password_last_used"),
        "j_key_type": f"UPPER(COALESCE({b.jtext(a, 'key_type')}, "
                      f"{b.jtext(a, 'key_algorithm')}, ''))",
        "j_key_size": b.jnum(a, "key_size"),
        "a_account": b.jtext(a, "account_id"),
        "a_namespace": b.jtext(a, "namespace"),
    }


def _level1(b: Builder, scoped: bool) -> str:
    cols = ", ".join(f"i.{c}" for c in IDENTITY_COLUMNS)
    zero = ("static_active", "dsa_keys", "no_expiry", "leaked", "multi_env", "reused",
            "cred_count")
    agg = ", ".join(f"COALESCE(c.{n}, 0) AS {n}" if n in zero else f"c.{n}" for n in
                    ("cred_count", "static_active", "static_oldest", "rsa_min", "ecc_min",
                     "dsa_keys", "no_expiry", "longest_validity", "password_used", "leaked",
                     "multi_env", "reused"))
    json_facts = ", ".join(f"{sql} AS {name}" for name, sql in _json_facts(b).items())
    where = "WHERE i.id IN (SELECT id FROM risk_scope)" if scoped else ""
    # People who left: one small hashed set probed three times, not three joins.
    left = "(SELECT p.id FROM ownership_person p WHERE NOT p.is_active)"
    return f"""
    SELECT {cols}, {agg}, {json_facts},
      CASE WHEN i.technical_owner_id IN {left} OR i.business_owner_id IN {left}
        OR i.backup_owner_id IN {left} THEN 1 ELSE 0 END AS owner_left,
      s.name AS source_name, e.slug AS env_slug,
      r.mask AS old_mask, r.classification AS old_class, r.score AS old_score,
      r.home_zone AS old_home, r.reach AS old_reach, r.last_used_at AS old_last_used,
      r.reactivated_at AS old_reactivated
    FROM inventory_identity i
    JOIN inventory_source s ON s.id = i.source_id
    LEFT JOIN inventory_environment e ON e.id = i.environment_id
    LEFT JOIN cred c ON c.identity_id = i.id
    LEFT JOIN inventory_identityrisk r ON r.identity_id = i.id
    {where} {fence(b)}"""


def home_zone(b: Builder, policy: Policy) -> str:
    whens = " ".join(f"WHEN {match_sql(b, r.match)} THEN {b.p(r.zone)}" for r in policy.place)
    return f"(CASE WHEN f.zone <> '' THEN f.zone {whens} ELSE '' END)"


def reach(b: Builder, policy: Policy) -> str:
    parts = []
    for zone, bit in ZONE_BITS.items():
        rules = [match_sql(b, r.match) for r in policy.reach if r.zone == zone]
        if rules:
            parts.append(f"(CASE WHEN {' OR '.join(rules)} THEN {bit} ELSE 0 END)")
    return "(" + (" | ".join(parts) or "0") + ")"


def exception_bits(b: Builder, policy: Policy) -> str:
    """Zones covered by an unexpired exception, for each identity."""
    parts = []
    for exc in policy.exceptions:
        if exc.expires < b.now.date():
            continue
        if exc.identity:
            code = uuid.UUID(exc.identity)
            matched = f"f.code = {b.p(code if b.pg else code.hex)}"
        else:
            matched = b.like_any("f.name", [exc.name])
        parts.append(f"(CASE WHEN {matched} THEN {ZONE_BITS[exc.zone]} ELSE 0 END)")
    return "(" + (" | ".join(parts) or "0") + ")"


def zone_bit(column: str) -> str:
    whens = " ".join(f"WHEN '{z}' THEN {bit}" for z, bit in ZONE_BITS.items())
    return f"(CASE {column} {whens} ELSE 0 END)"


def dormant(b: Builder, policy: Policy) -> str:
    """Unused for the identity's dormancy threshold. Never used counts only where the
    provider reports use at all (Kubernetes and certificates report none)."""
    cut = cutoff(b, policy, "dormant_days")
    reported = b.in_list("f.provider", policy.never_used_providers)
    return (f"(f.kind <> 'certificate' AND (f.last_used_at < {cut} OR (f.last_used_at IS NULL"
            f" AND {reported} AND COALESCE(f.created_at_source, f.first_seen_at) < {cut})))")


def class_values(b: Builder, policy: Policy) -> dict[str, str]:
    """Each identity's policy values (by its class), computed once per row."""
    def number(d: int | None) -> str:
        return "NULL" if d is None else str(int(d))

    return {
        "rotation_cut": cutoff(b, policy, "rotation_days"),
        "review_cut": cutoff(b, policy, "review_days"),
        "warn_until": per_class(b, policy, "cert_warning_days", lambda d: b.ahead(d or 0)),
        "max_life": per_class(b, policy, "max_lifetime_days", number),
        "min_rsa": per_class(b, policy, "min_rsa_bits", number),
        "min_ecc": per_class(b, policy, "min_ecc_bits", number),
    }


def _level2(b: Builder, policy: Policy, scoped: bool, dormant_mask: int) -> str:
    is_dormant = f"(CASE WHEN {dormant(b, policy)} THEN 1 ELSE 0 END)"
    reactivated = (
        f"CASE WHEN (COALESCE(f.old_mask, 0) & {b.bigint(dormant_mask)}) <> 0 "
        f"AND {is_dormant} = 0 AND f.last_used_at IS NOT NULL "
        f"AND (f.old_last_used IS NULL OR f.last_used_at > f.old_last_used) "
        f"THEN {b.p(b.now)} ELSE f.old_reactivated END")
    values = ", ".join(f"{sql} AS {name}" for name, sql in class_values(b, policy).items())
    return f"""
    SELECT f.*, {home_zone(b, policy)} AS home_zone, {reach(b, policy)} AS reach,
      {exception_bits(b, policy)} AS exc_bits, {is_dormant} AS is_dormant,
      {reactivated} AS reactivated_at, {values}
    FROM ({_level1(b, scoped)}) f {fence(b)}"""


def mask_expr(b: Builder, policy: Policy, rules: list[Rule]) -> str:
    terms = [f"CASE WHEN ({r.condition(b, policy)}) THEN {b.bigint(r.mask)} ELSE 0 END"
             for r in rules]
    return (f"(CASE WHEN f.status = 'active' THEN ({' + '.join([b.bigint(0), *terms])}) "
            "ELSE 0 END)")


def score_expr(b: Builder, policy: Policy, rules: list[Rule]) -> str:
    from inventory.models.risk import SEVERITY_WEIGHT

    terms = [f"CASE WHEN (f.mask & {b.bigint(r.mask)}) <> 0 THEN "
             f"{SEVERITY_WEIGHT[policy.severity_of(r.code, r.severity)]} ELSE 0 END"
             for r in rules]
    return b.least("100", "(" + " + ".join(["0", *terms]) + ")")


def classification_expr(b: Builder, high: int, dormant_bits: int, unknown: int) -> str:
    """Seed 003's tags, one per identity: high-risk (a condition of a rule marked high-risk
    or critical holds: admin privilege, wildcard grants, cross-zone reach, open trust, a
    leaked secret) before dormant before unknown (no owner or purpose); active otherwise.
    Inactive identities get none. A function of status and mask only."""
    def has(bits: int) -> str:
        return f"(f.mask & {b.bigint(bits)}) <> 0"

    return (f"(CASE WHEN f.status <> 'active' THEN '' "
            f"WHEN {has(high)} THEN 'high_risk' "
            f"WHEN {has(dormant_bits)} THEN 'dormant' WHEN {has(unknown)} THEN 'unknown' "
            "ELSE 'active' END)")


DORMANT_RULE = "dormancy.dormant"
UNKNOWN_RULES = ("ownership.no_owner", "ownership.no_purpose")


def class_bits(rules: list[Rule], policy: Policy) -> tuple[int, int, int]:
    """(high-risk, dormant, unknown) bit sets among the enabled rules."""
    high = sum(r.mask for r in rules
               if r.high_risk or policy.severity_of(r.code, r.severity) == "critical")
    dormant_bits = sum(r.mask for r in rules if r.code == DORMANT_RULE)
    unknown = sum(r.mask for r in rules if r.code in UNKNOWN_RULES)
    return high, dormant_bits, unknown


def verdict_query(b: Builder, policy: Policy, rules: list[Rule], scoped: bool,
                  only_changed: bool = True) -> str:
    """One row per identity whose verdict changed (or every row): id, status, old and
    new mask, score, classification, home zone, reach, last use, reactivation.

    The mask is computed once per identity (level 3, fenced); score and classification
    follow from the mask and status alone, so they are computed only for the rows that
    pass the change filter. A policy change can move scores without moving masks: the
    engine then asks for every row (`only_changed=False`)."""
    high, dormant_bits, unknown = class_bits(rules, policy)
    changed = ("WHERE f.old_mask IS NULL OR f.mask <> f.old_mask "
               "OR f.home_zone <> f.old_home OR f.reach <> f.old_reach "
               "OR (f.old_class = '') <> (f.status <> 'active')") if only_changed else ""
    keep = ", ".join(f"f.{c}" for c in ("id", "status", "old_mask", "old_class", "old_home",
                                          "old_reach", "home_zone", "reach", "last_used_at",
                                          "reactivated_at"))
    return f"""
    WITH shared AS ({_shared(scoped)}), cred AS ({_cred(b, scoped)})
    SELECT f.id, f.status, f.old_mask, f.mask, {score_expr(b, policy, rules)} AS score,
      {classification_expr(b, high, dormant_bits, unknown)} AS classification, f.home_zone,
      f.reach, f.last_used_at, f.reactivated_at
    FROM (
      SELECT {keep}, {mask_expr(b, policy, rules)} AS mask
      FROM ({_level2(b, policy, scoped, dormant_bits)}) f {fence(b)}
    ) f {changed}"""


def verdict_ids(code: str, policy: Policy, now=None) -> list[int]:
    """Ids of the active identities for which rule `code` holds at `now` (default: now):
    the rule's condition as one set-based query, e.g. to ask who is due next week."""
    from django.db import connection

    from inventory.risk.registry import get_rule

    rule = get_rule(code)
    if rule is None:
        raise KeyError(code)
    b = Builder(now)
    dormant_bits = get_rule(DORMANT_RULE).mask
    sql = (f"WITH shared AS ({_shared(False)}), cred AS ({_cred(b, False)}) "
           f"SELECT f.id FROM ({_level2(b, policy, False, dormant_bits)}) f "
           f"WHERE f.status = 'active' AND ({rule.condition(b, policy)})")
    with connection.cursor() as cursor:
        cursor.execute(sql, b.params)
        return [row[0] for row in cursor.fetchall()]
