"""Throttling per API key (or per logged-in user): 429 with Retry-After past the key's rate."""

from __future__ import annotations

import math
from typing import cast

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from cxm.cache import WindowCounter

from .models import ApiKey


class PerKeyRateThrottle(SimpleRateThrottle):
    """The key's own `throttle_rate`, or CXM_API_THROTTLE_RATE, in a fixed window per key.

    The window starts at the key's first request and lasts the rate's period; its counter lives
    in the shared cache and costs one atomic Redis round trip per request (cxm/cache.py,
    `count_hit`), where a sliding window's history list cost two and could be raced past.
    While Redis is down requests are not counted, so never refused (docs/api.md).
    """

    scope = "api_key"
    # Not DRF's history-list keys: a counter must never land on a list left by an older release.
    cache_format = "throttle-window:%(scope)s:%(ident)s"

    def get_rate(self) -> str:
        return settings.CXM_API_THROTTLE_RATE

    def allow_request(self, request, view) -> bool:
        if isinstance(request.auth, ApiKey) and request.auth.throttle_rate:
            self.rate = request.auth.throttle_rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        counted = cast(WindowCounter, cache).count_hit(self.get_cache_key(request, view), self.duration)
        if counted is None:  # Redis is down: the cache has logged it
            return True
        hits, seconds_left = counted
        self.seconds_left = max(math.ceil(seconds_left), 1)
        request.rate_limit_headers = {  # the IETF draft's names, sent beside Retry-After
            "RateLimit-Limit": str(self.num_requests),
            "RateLimit-Remaining": str(max(self.num_requests - hits, 0)),
            "RateLimit-Reset": str(self.seconds_left),
        }
        return hits <= self.num_requests

    def wait(self) -> float:
        """Seconds until this key's window ends (Retry-After, equal to RateLimit-Reset)."""
        return self.seconds_left

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": "user", "ident": request.user.pk}
        return self.cache_format % {"scope": "anon", "ident": self.get_ident(request)}
