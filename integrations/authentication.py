"""`Authorization: Api-Key <key>`: who is calling, checked against the database on every request."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_api_key.permissions import KeyParser

from .models import ApiKey


class ApiKeyAuthentication(BaseAuthentication):
    """A revoked or expired key fails at once: nothing about a key is cached."""

    keyword = KeyParser.keyword

    def authenticate(self, request) -> tuple[AnonymousUser, ApiKey] | None:
        key = KeyParser().get(request)
        if key is None:
            return None
        try:
            api_key = ApiKey.objects.get_from_key(key)
        except ApiKey.DoesNotExist:
            raise AuthenticationFailed(_("Unknown or revoked API key.")) from None
        if api_key.has_expired:
            raise AuthenticationFailed(_("This API key has expired; ask an administrator for a new one."))
        return AnonymousUser(), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword
