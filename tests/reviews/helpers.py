"""Helpers for review tests: read links out of delivered emails."""

from __future__ import annotations

import re
from email.message import Message

LINK = re.compile(r"https?://[^\s\"'<>]+/review/([A-Za-z0-9_-]{43})/")


def text_and_html(message) -> tuple[str, str]:
    """The plain-text and HTML parts of a Django EmailMessage or a parsed email."""
    if isinstance(message, Message):
        parts = {p.get_content_type(): p.get_payload(decode=True).decode()
                 for p in message.walk() if not p.is_multipart()}
        return parts["text/plain"], parts["text/html"]
    html = next(content for content, kind in message.alternatives if kind == "text/html")
    return message.body, html


def links(message) -> dict[str, str]:
    """{identity name or "all": link path} from an owner email's text part."""
    text, _html = text_and_html(message)
    found: dict[str, str] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = LINK.search(line)
        if not match:
            continue
        path = f"/review/{match.group(1)}/"
        before = lines[i - 1].strip()
        if before.startswith("- "):
            found[before[2:].split(" (")[0]] = path
        else:
            found.setdefault("all", path)
    return found
