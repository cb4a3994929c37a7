"""Review emails: each is a subject, a plain-text and an HTML template under
templates/emails/. One message per owner per campaign lists all their pending identities,
each with its own link, plus one link to answer them all on one page."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from reviews import conf
from reviews.models import Attestation, Campaign, Delivery
from reviews.snapshot import Shown

ESCALATION_LISTED = 50  # identities named per owner in an escalation; the rest are counted


def link_url(raw: str) -> str:
    return settings.SITE_URL + reverse("reviews:link", args=[raw])


def render(name: str, context: dict) -> tuple[str, str, str]:
    """(subject, text, html) from emails/<name>_subject.txt, <name>.txt and <name>.html."""
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    return subject, text, html


def build(name: str, context: dict, to: list[str]) -> EmailMultiAlternatives:
    subject, text, html = render(name, context)
    # Auto-Submitted keeps out-of-office replies from answering to every review email.
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to,
                                     headers={"Auto-Submitted": "auto-generated"})
    message.attach_alternative(html, "text/html")
    return message


@dataclass
class Row:
    """One identity in an owner's email."""

    task: Attestation
    shown: Shown
    url: str


def owner_email(delivery: Delivery, tasks: list[Attestation], all_token: str,
                tokens: dict[int, str]) -> EmailMultiAlternatives:
    campaign = delivery.campaign
    rows = [Row(t, Shown(t.snapshot), link_url(tokens[t.pk])) for t in tasks]
    context = {
        "kind": delivery.kind, "campaign": campaign, "person": delivery.person, "rows": rows,
        "all_url": link_url(all_token), "count": len(rows), "site_url": settings.SITE_URL,
        "security_email": conf.get("REVIEWS_SECURITY_EMAIL"),
        "days_left": _days_left(campaign),
    }
    return build("review_owner", context, [delivery.recipient])


def _days_left(campaign: Campaign) -> int:
    return max(0, (campaign.deadline - timezone.now()).days)


@dataclass
class OwnerGroup:
    """Overdue tasks of one owner, for an escalation."""

    owner: str
    count: int
    names: list[str]


def escalation_email(delivery: Delivery, tasks: list[tuple[str, str]], triage: int,
                     for_security: bool) -> EmailMultiAlternatives:
    """`tasks` are (owner email, identity name) pairs of overdue tasks."""
    groups: dict[str, list[str]] = defaultdict(list)
    for owner, name in tasks:
        groups[owner].append(name)
    owners = [OwnerGroup(o, len(n), sorted(n)[:ESCALATION_LISTED])
              for o, n in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))]
    context = {
        "campaign": delivery.campaign, "owners": owners, "overdue": len(tasks),
        "triage": triage, "for_security": for_security, "listed": ESCALATION_LISTED,
        "campaign_url": settings.SITE_URL + delivery.campaign.get_absolute_url(),
        "recipient": delivery.person,
    }
    return build("review_escalation", context, [delivery.recipient])
