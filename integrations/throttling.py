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
        allowed = super().allow_request(request, view)
        if hasattr(self, "history"):  # counted (not an unlimited rate)
            request.rate_limit_headers = self.rate_limit_headers()
        return allowed

    def rate_limit_headers(self) -> dict[str, str]:
        """RateLimit-Limit / -Remaining / -Reset (the IETF draft's names), sent beside Retry-After."""
        remaining = max((self.num_requests or 0) - len(self.history), 0)
        reset = (self.duration or 0) - (self.now - self.history[-1]) if self.history else 0
        return {
            "RateLimit-Limit": str(self.num_requests),
            "RateLimit-Remaining": str(remaining),
            "RateLimit-Reset": str(max(int(reset + 0.999), 0)),
        }

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.auth, ApiKey):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}
        if request.user and request.user.is_authenticated:
            return self.cache_format % {"scope": "user", "ident": request.user.pk}
        return self.cache_format % {"scope": "anon", "ident": self.get_ident(request)}
