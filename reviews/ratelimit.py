"""Rate limits for review links, counted in Django's cache (shared through Redis when
REDIS_URL is set). Tokens are far too long to guess; the limits keep a scanner or a
leaked link from hammering the page, and invalid tokens cost an address more."""

from __future__ import annotations

from django.core.cache import cache

from reviews import conf


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _hit(key: str, window: int) -> int:
    if cache.add(key, 1, window):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def _window() -> int:
    return conf.get("REVIEWS_LINK_WINDOW_SECONDS")


def allow(ip: str, token_key: str) -> tuple[bool, bool]:
    """Count one attempt from `ip` on `token_key`. Returns (allowed, first refusal in this
    window) so the caller audits a refusal once rather than at every attempt."""
    if cache.get(f"reviews:bad:{ip}", 0) >= conf.get("REVIEWS_LINK_BAD_LIMIT_PER_IP"):
        return False, False
    by_ip = _hit(f"reviews:ip:{ip}", _window())
    by_token = _hit(f"reviews:tok:{token_key}", _window())
    ip_limit = conf.get("REVIEWS_LINK_LIMIT_PER_IP")
    token_limit = conf.get("REVIEWS_LINK_LIMIT_PER_TOKEN")
    if by_ip <= ip_limit and by_token <= token_limit:
        return True, False
    return False, by_ip == ip_limit + 1 or by_token == token_limit + 1


def note_invalid(ip: str) -> bool:
    """Count an invalid token from `ip`; True when this one reaches the limit."""
    return _hit(f"reviews:bad:{ip}", _window()) == conf.get("REVIEWS_LINK_BAD_LIMIT_PER_IP")
