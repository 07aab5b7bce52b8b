"""Throttling per API key (or per logged-in user): 429 with Retry-After past the key's rate."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiKey


class PerKeyRateThrottle(SimpleRateThrottle):
    """The key's own `throttle_rate`, or CXM_API_THROTTLE_RATE; counted in the shared cache."""

    scope = "api_key"

    def get_rate(self) -> str:
        return settings.CXM_API_THROTTLE_RATE

    def allow_request(self, request, view) -> bool:
        if isinstance(request.auth, ApiKey) and request.auth.throttle_rate:
            self.rate = request.auth.throttle_rate
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": "user", "ident": request.user.pk}
        return self.cache_format % {"scope": "anon", "ident": self.get_ident(request)}
