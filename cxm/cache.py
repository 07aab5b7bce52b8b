"""The shared cache on Redis, which must never turn a Redis outage or stall into a failed or slow request."""

from __future__ import annotations

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
OUTAGE = (RedisConnectionError, RedisTimeoutError)
# After a failure the process leaves Redis alone this long: a stalled Redis costs one request
# one timeout (CXM_REDIS_TIMEOUT_SECONDS), not every request its own.
RESTING_SECONDS = 5.0


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
