"""Lifecycle and rotation (OWASP NHI7 long-lived secrets, NHI1 offboarding): rotate on
the policy's interval, expire, keep validity short, close break-glass access, and remove
what reviewers asked to remove."""

import datetime as dt

from inventory.models.risk import Severity
from inventory.risk.registry import AC2, CC61, CSF, IA5, ISO_516, PCI_863, rule

REFS = (CSF, IA5, PCI_863, CC61)


@rule("lifecycle.rotation_overdue", 4, "Rotation overdue", "NHI7", Severity.HIGH,
      frameworks=REFS,
      remedy="Issue a new secret, move the workload to it, then revoke the old one.")
def rotation_overdue(b, policy) -> str:
    """An active static secret (access key, API key, secret-id, token secret, client
    secret, SSH key) is older than the rotation interval of its class: 90 days for
    standard service accounts, 30 for privileged ones, 60 for API keys by default."""
    cut = "f.rotation_cut"
    age = "COALESCE(f.last_rotated_at, f.created_at_source, f.first_seen_at)"
    return (f"f.kind <> 'certificate' AND (f.static_oldest < {cut} OR (f.static_active = 0 "
            f"AND f.auth_method = 'static_secret' AND {age} < {cut}))")


@rule("lifecycle.no_expiry", 5, "Secret never expires", "NHI7", Severity.MEDIUM,
      frameworks=REFS, remedy="Give the token or secret a TTL, or use short-lived tokens.")
def no_expiry(b, policy) -> str:
    """An active token, secret-id, client secret or API key has no expiry date."""
    return (f"(f.no_expiry > 0 OR (f.cred_count = 0 AND {b.in_list('f.kind', ['vault_token'])}"
            " AND f.expires_at IS NULL))")


@rule("lifecycle.expired_active", 6, "Expired but still active", "NHI1", Severity.HIGH,
      frameworks=(CSF, AC2, ISO_516, CC61),
      remedy="Disable or delete the identity at its source.")
def expired_active(b, policy) -> str:
    """The identity's expiry date has passed but the source still lists it as active
    (certificates have their own rule)."""
    return f"f.kind <> 'certificate' AND f.expires_at < {b.p(b.now)}"


@rule("lifecycle.lifetime_exceeded", 7, "Validity longer than allowed", "NHI7",
      Severity.MEDIUM, frameworks=REFS,
      remedy="Reissue the credential with a validity within the policy's maximum.")
def lifetime_exceeded(b, policy) -> str:
    """A credential is valid for longer than its class's maximum lifetime (398 days for
    certificates by default; no limit for others unless the policy sets one)."""
    span = b.days_between("f.created_at_source", "f.expires_at")
    return f"COALESCE(f.longest_validity, {span}) > f.max_life"


@rule("lifecycle.break_glass_open", 8, "Break-glass account past its window", "NHI7",
      Severity.HIGH, frameworks=REFS + (AC2,),
      remedy="Rotate the break-glass credential (or disable the account) after each use.")
def break_glass_open(b, policy) -> str:
    """An identity tagged as break-glass was used and has not been rotated within the
    policy's window (24 hours by default) after that use."""
    if not policy.break_glass_tags:
        return "1 = 0"
    tagged = b.like_any("f.tags_text", policy.break_glass_tags, anywhere=True, lowered=True)
    since = b.p(b.now - dt.timedelta(hours=policy.break_glass_window_hours))
    return (f"{tagged} AND f.last_used_at < {since} AND "
            "(f.last_rotated_at IS NULL OR f.last_rotated_at < f.last_used_at)")


@rule("lifecycle.deprovision_overdue", 30, "Still active after removal was requested", "NHI1",
      Severity.HIGH, frameworks=(CSF, AC2, ISO_516, CC61),
      remedy="Disable or delete the identity at its source (its owners answered 'revoke'), "
             "then let the next sync record it as gone.")
def deprovision_overdue(b, policy) -> str:
    """An owner asked in a review for the identity to be removed ("revoke"), and the
    source still lists it as active after the policy's grace period (14 days by default):
    improper offboarding."""
    return f"f.deprovision_requested_at < {b.ago(policy.deprovision_grace_days)}"
