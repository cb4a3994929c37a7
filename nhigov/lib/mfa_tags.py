"""Template filters for the MFA pages (registered as the `mfa_tags` library in settings)."""

from __future__ import annotations

import json

from django import template

register = template.Library()


@register.filter
def json_attr(value) -> str:
    """JSON for a data-* attribute (autoescaping makes it attribute-safe). Used instead of
    json_script: the CSP test admits no <script> element without src in page templates."""
    return json.dumps(value, separators=(",", ":"))
