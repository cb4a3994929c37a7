"""Template filters shared by the portal's pages."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil

register = template.Library()


@register.filter
def ago(value: datetime | None) -> str:
    """'3 weeks ago' / 'in 2 months': one unit only, so table cells stay short."""
    if not value:
        return ""
    if value > timezone.now():
        return f"in {timeuntil(value, depth=1)}"
    return f"{timesince(value, depth=1)} ago"
