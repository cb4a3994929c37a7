"""The Redis cache falls back to local counting during an outage, not on a wrong REDIS_URL."""

import pytest
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError

from nhigov.lib.cache import FallbackRedisCache


def _cache() -> FallbackRedisCache:
    return FallbackRedisCache("redis://127.0.0.1:1/0", {"KEY_PREFIX": "t"})


def test_it_counts_locally_when_redis_is_unreachable(monkeypatch):
    def refused(self, *args, **kwargs):
        raise RedisConnectionError("Connection refused.")

    monkeypatch.setattr(RedisCache, "add", refused)
    assert _cache().add("hits", 1, 60) is True


def test_it_does_not_hide_a_wrong_redis_password(monkeypatch):
    def refused(self, *args, **kwargs):
        raise AuthenticationError("invalid username-password pair")

    monkeypatch.setattr(RedisCache, "add", refused)
    with pytest.raises(AuthenticationError):
        _cache().add("hits", 1, 60)
