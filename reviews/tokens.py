"""Emailed review links (DESIGN.md, "Owner links").

A token is 256 random bits (`secrets.token_urlsafe(32)`); only its HMAC-SHA256 under a key
of its own (derived from SECRET_KEY with a purpose salt) is stored, so a copy of the
database opens no link. A link is bound to one recipient and one task (or to all of that
recipient's tasks in the campaign), is valid until the campaign's deadline, and a task
link is spent once its task is decided. Checking a link never logs anyone in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.crypto import salted_hmac

from ownership.models import Person
from reviews.models import Attestation, Campaign, ReviewLink

_SALT = "nhigov.reviews.link-token"
_FORMAT = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def digest(raw: str) -> str:
    return salted_hmac(_SALT, raw, algorithm="sha256").hexdigest()


def new_token() -> tuple[str, str]:
    """(token for the email, digest for the database)."""
    raw = secrets.token_urlsafe(32)
    return raw, digest(raw)


def issue(campaign: Campaign, person: Person,
          tasks: Iterable[Attestation]) -> tuple[str, dict[int, str]]:
    """New links for `person`: one answering all their tasks in `campaign`, one per task.
    Returns (all-tasks token, {task id: token}); rows are written in one batch."""
    now = timezone.now()
    all_raw, all_hash = new_token()
    rows = [ReviewLink(token_hash=all_hash, campaign=campaign, person=person, created_at=now)]
    per_task = {}
    for task in tasks:
        raw, hashed = new_token()
        per_task[task.pk] = raw
        rows.append(ReviewLink(token_hash=hashed, campaign=campaign, person=person,
                               attestation=task, created_at=now))
    ReviewLink.objects.bulk_create(rows, batch_size=1000)
    return all_raw, per_task


class Problem:
    INVALID = "invalid"
    EXPIRED = "expired"
    CLOSED = "closed"
    USED = "used"
    WRONG_RECIPIENT = "wrong_recipient"
    WITHDRAWN = "withdrawn"


@dataclass
class Checked:
    """The outcome of checking a token: the link (when found) and what is wrong with it."""

    link: ReviewLink | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.link is not None and not self.problem


def check(raw: str) -> Checked:
    """Find the link for `raw` and say whether it may be used now."""
    if not _FORMAT.match(raw or ""):
        return Checked(None, Problem.INVALID)
    link = (ReviewLink.objects.select_related("campaign", "person", "attestation")
            .filter(token_hash=digest(raw)).first())
    if link is None:
        return Checked(None, Problem.INVALID)
    return Checked(link, problem_with(link))


def problem_with(link: ReviewLink) -> str:
    campaign = link.campaign
    if campaign.status != Campaign.Status.OPEN:
        return Problem.CLOSED
    if timezone.now() >= campaign.deadline:
        return Problem.EXPIRED
    task = link.attestation
    if task is None:
        return ""
    if task.campaign_id != link.campaign_id or task.reviewer_id != link.person_id:
        return Problem.WRONG_RECIPIENT
    if link.used_at is not None or task.status in (Attestation.Status.DECIDED,
                                                   Attestation.Status.EXPIRED):
        return Problem.USED
    if task.status != Attestation.Status.PENDING:
        return Problem.WITHDRAWN  # moved to triage: the owner has left
    return ""
