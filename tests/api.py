"""Helpers for the REST API tests: API keys with scopes, and clients that send them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from integrations.models import Scope
from integrations.services import create_api_key


def key_client(*scopes: str, revoked: bool = False, expired: bool = False, rate: str = "") -> APIClient:
    """A client sending `Authorization: Api-Key <key>` for a new key with these scopes."""
    expiry = timezone.now() - timedelta(minutes=1) if expired else None
    api_key, key = create_api_key(name="test", scopes=scopes, expiry_date=expiry, throttle_rate=rate)
    if revoked:
        api_key.revoked = True
        api_key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    client.api_key = api_key
    return client


def full_client() -> APIClient:
    return key_client(*Scope.values)
