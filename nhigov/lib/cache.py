"""Django's Redis cache, falling back to a per-process memory cache while Redis is down.

The cache only holds rate-limit counters (sign-in throttling, owner-link limits, API
throttles) and de-duplication marks; nothing in it must survive. What to do while Redis
is unreachable was decided, not left to the default (a 500 on every page that counts):

* fail **closed** (refuse) would lock every user out of sign-in during a Redis outage;
* fail **open** (skip the limits) would drop brute-force protection exactly then;
* so each web process **counts locally**, as the embedded portal always does: limits
  still hold per process (at most N processes × the limit overall) and pages keep
  serving. Once Redis answers again the shared counts are used; the local ones expire.

Connection attempts are bounded (socket timeouts in settings.CACHES OPTIONS) so a dead
Redis costs a page at most that long, and the outage is logged once a minute, not per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import AuthenticationError, AuthorizationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
# ConnectionError subclasses that mean a wrong REDIS_URL (password, ACL), not an outage:
# counting locally would hide the misconfiguration for good, so they still raise.
MISCONFIGURED = (AuthenticationError, AuthorizationError)
WARN_EVERY_SECONDS = 60.0
_METHODS = ("add", "get", "set", "touch", "delete", "get_many", "has_key", "incr",
            "set_many", "delete_many", "clear")


class FallbackRedisCache(RedisCache):
    """RedisCache whose every operation falls back to a local LocMemCache on connection
    errors (see the module docstring for why)."""

    def __init__(self, server: str, params: dict) -> None:
        super().__init__(server, params)
        self.local = LocMemCache(f"nhigov-fallback-{id(self)}", {
            "TIMEOUT": params.get("TIMEOUT", 300),
            "KEY_PREFIX": params.get("KEY_PREFIX", ""),
            "OPTIONS": {"MAX_ENTRIES": 10000},
        })
        self._warned_at = float("-inf")

    def _unavailable(self, name: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("Redis cache unavailable (%s: %s); counting in this process "
                           "until it returns", type(exc).__name__, exc)


def _with_fallback(name: str) -> Callable[..., Any]:
    def method(self: FallbackRedisCache, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(RedisCache, name)(self, *args, **kwargs)
        except UNAVAILABLE as exc:
            if isinstance(exc, MISCONFIGURED):
                raise
            self._unavailable(name, exc)
            return getattr(self.local, name)(*args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"RedisCache.{name}, or the local cache's while Redis is down."
    return method


for _name in _METHODS:
    setattr(FallbackRedisCache, _name, _with_fallback(_name))
