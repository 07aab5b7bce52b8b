"""The shared cache on Redis, which must never turn a Redis outage or stall into a failed or slow request."""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from typing import Protocol

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.commands.core import Script
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
OUTAGE = (RedisConnectionError, RedisTimeoutError)
# After a failure the process leaves Redis alone this long: a stalled Redis costs one request
# one timeout (CXM_REDIS_TIMEOUT_SECONDS), not every request its own.
RESTING_SECONDS = 5.0
# One hit in a fixed window, atomically and in one round trip (EVALSHA): the window starts at
# the key's first hit and ends when the key expires. A key left without an expiry (never by
# this script) is given one, so a counter cannot outlive its window.
COUNT_HIT_LUA = """
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {hits, left}
"""


class WindowCounter(Protocol):
    """What both caches of cxm/settings.py offer beside Django's API (the API throttle uses it)."""

    def count_hit(self, key: str, seconds: int) -> tuple[int, float] | None: ...


class ResilientRedisCache(RedisCache):
    """Reads miss and writes are dropped while Redis is down or stalled.

    The cache only holds hints (API throttle counters, the rescore-pending flag, the worker
    heartbeat); the database holds everything that matters, so a miss costs at most a
    duplicate message or a request not throttled during the outage.
    """

    _resting_until = 0.0  # per process, shared by every cache of the process

    def _call(self, operation: str, key, fallback, method, *args):
        if time.monotonic() < ResilientRedisCache._resting_until:
            return fallback
        try:
            return method(*args)
        except OUTAGE:
            ResilientRedisCache._resting_until = time.monotonic() + RESTING_SECONDS
            log.warning("cache unavailable: %s %s gave up; resting %.0f s", operation, key, RESTING_SECONDS)
            return fallback

    def get(self, key, default=None, version=None):
        return self._call("get", key, default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call("set", key, None, super().set, key, value, timeout, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", key, True, super().add, key, value, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", key, False, super().delete, key, version)

    @cached_property
    def _count_hit_script(self) -> Script:
        return self._cache.get_client(write=True).register_script(COUNT_HIT_LUA)  # writes go to one server

    def count_hit(self, key: str, seconds: int) -> tuple[int, float] | None:
        """One more hit in `key`'s window of `seconds`: the hits so far and the seconds left.

        One EVALSHA, atomic across processes (after a Redis restart the first call also loads
        the script). None while Redis is down or stalled: the caller does not count this hit.
        """
        key = self.make_and_validate_key(key)
        found = self._call("count_hit", key, None, self._count_hit_script, [key], [int(seconds * 1000)])
        return None if found is None else (int(found[0]), int(found[1]) / 1000)


class LocalCache(LocMemCache):
    """`make run`'s in-process cache (no Redis), with the same window counter as the Redis cache."""

    _counting = threading.Lock()  # one process: a lock makes the count atomic

    def count_hit(self, key: str, seconds: int) -> tuple[int, float] | None:
        """One more hit in `key`'s window of `seconds`: the hits so far and the seconds left."""
        with self._counting:
            now = time.monotonic()
            entry = self.get(key)
            hits, ends_at = entry if entry and entry[1] > now else (0, now + seconds)
            hits += 1
            self.set(key, (hits, ends_at), ends_at - now)
        return hits, ends_at - now
