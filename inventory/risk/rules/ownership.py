"""Ownership (OWASP NHI1, improper offboarding): every identity needs an owner who is
still here, a recorded purpose, and a periodic review."""

from inventory.models.risk import Severity
from inventory.risk.registry import AC2, CC62, CSF, ISO_516, ISO_518, rule

REFS = (CSF, AC2, ISO_516, CC62)


@rule("ownership.no_owner", 0, "No owner", "NHI1", Severity.HIGH, frameworks=REFS,
      remedy="Assign a technical and a business owner, or decommission the identity.")
def no_owner(b, policy) -> str:
    """Neither a technical nor a business owner is recorded: nobody answers for the
    identity, so nobody will notice when it should be removed."""
    return "f.technical_owner_id IS NULL AND f.business_owner_id IS NULL"


@rule("ownership.no_purpose", 1, "No purpose recorded", "NHI1", Severity.MEDIUM,
      frameworks=REFS, remedy="Record what the identity is for and which workload uses it.")
def no_purpose(b, policy) -> str:
    """No purpose is recorded, so nobody can judge whether the access is still needed."""
    return "TRIM(f.purpose) = ''"


@rule("ownership.owner_left", 2, "Owner has left", "NHI1", Severity.HIGH,
      frameworks=REFS + (ISO_518,),
      remedy="Reassign the identity to a current owner; rotate what the leaver knew.")
def owner_left(b, policy) -> str:
    """A technical, business or backup owner has been deactivated (left the company)."""
    return "f.owner_left = 1"


@rule("ownership.review_overdue", 3, "Access review overdue", "NHI1", Severity.MEDIUM,
      frameworks=(CSF, AC2, ISO_518, CC62),
      remedy="Ask the owners to attest the identity in a review campaign.")
def review_overdue(b, policy) -> str:
    """The next review date has passed, or without one, the identity has not been
    attested within the policy's review cadence (quarterly by default)."""
    cut = "f.review_cut"
    today = b.p(b.now.date())
    return (f"CASE WHEN f.next_review_due IS NOT NULL THEN f.next_review_due < {today} "
            f"ELSE COALESCE(f.last_attested_at, f.first_seen_at) < {cut} END")
