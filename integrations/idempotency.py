"""The `Idempotency-Key` request header: a retried write gets the first answer, never a second effect.

Same key and same request: the stored answer again (with `Idempotent-Replayed: true`). Same
key and another request: 422. Keys belong to the API key (or user) that sent them and are
kept for CXM_IDEMPOTENCY_KEY_HOURS. Two requests with one key at once are decided one after
the other: the key row is written in the request's own transaction, so the second waits on
the unique index and then replays the first's answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from .models import ApiKey, IdempotentRequest

HEADER = "Idempotency-Key"
MAX_LENGTH = 255
KEY_PATTERN = re.compile(r"[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?")  # printable ASCII, trimmed


class KeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = _("This Idempotency-Key was used for a different request; use a new key for a new request.")


def once(request, run: Callable[[], Response]) -> Response:
    """Run the write, or answer as it was answered the first time this key was sent."""
    key = request.headers.get(HEADER)
    if key is None:
        return run()
    key = key.strip()
    if not KEY_PATTERN.fullmatch(key):
        raise ValidationError({HEADER: [_("must be 1 to %(max)d printable ASCII characters") % {"max": MAX_LENGTH}]})
    scope = f"key:{request.auth.pk}" if isinstance(request.auth, ApiKey) else f"user:{request.user.pk}"
    body = json.dumps(request.data, sort_keys=True, ensure_ascii=True, default=str)
    fingerprint = hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))", [f"{scope}\x1f{key}"])
        fresh_after = timezone.now() - timedelta(hours=settings.CXM_IDEMPOTENCY_KEY_HOURS)
        IdempotentRequest.objects.filter(scope=scope, key=key, created_at__lt=fresh_after).delete()
        earlier = IdempotentRequest.objects.filter(scope=scope, key=key).first()
        if earlier is not None:
            if earlier.fingerprint != fingerprint:
                raise KeyReused()
            return Response(earlier.body, status=earlier.status_code, headers={"Idempotent-Replayed": "true"})
        response = run()
        IdempotentRequest.objects.create(
            scope=scope, key=key, fingerprint=fingerprint, status_code=response.status_code, body=response.data
        )
        return response
