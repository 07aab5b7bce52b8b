"""The shared cache on Redis, which must never turn a Redis outage into a failed request."""

from __future__ import annotations

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
OUTAGE = (RedisConnectionError, RedisTimeoutError)


class ResilientRedisCache(RedisCache):
    """Reads miss and writes are dropped while Redis is down.

    The cache only holds hints (API throttle counters, the rescore-pending flag, the worker
    heartbeat); the database holds everything that matters, so a miss costs at most a
    duplicate message or a request not throttled during the outage.
    """

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except OUTAGE:
            log.warning("cache unavailable: get %s missed", key)
            return default

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except OUTAGE:
            log.warning("cache unavailable: set %s dropped", key)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except OUTAGE:
            log.warning("cache unavailable: add %s treated as added", key)
            return True

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except OUTAGE:
            log.warning("cache unavailable: delete %s dropped", key)
            return False
