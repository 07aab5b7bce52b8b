"""Standard Webhooks signatures (standardwebhooks.com), so that any receiver's library verifies ours.

Each delivery carries `webhook-id` (the same on every retry: receivers drop repeats by it),
`webhook-timestamp` (Unix seconds) and `webhook-signature`: `v1,<base64 HMAC-SHA256 of
"id.timestamp.body">`, once per secret in force. Secrets are `whsec_<base64 key>`. While a
rotated-out secret is still in its overlap, both signatures are sent, space-separated, and a
receiver holding either secret verifies the delivery.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

PREFIX = "whsec_"
KEY_BYTES = 32
# A secret given by the subscriber: whsec_ and the canonical base64 of 24 to 62 bytes.
SECRET_PATTERN = r"^whsec_(?:[A-Za-z0-9+/]{4}){8,20}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_of(secret: str) -> bytes:
    """The HMAC key a secret stands for (a secret without the prefix is taken as raw text)."""
    if secret.startswith(PREFIX):
        return base64.b64decode(secret[len(PREFIX) :])
    return secret.encode()


def signature(*, secrets_in_force: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one `v1,<base64>` per secret, space-separated."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key_of(secret), signed, hashlib.sha256).digest()).decode()
        for secret in secrets_in_force
    )


def headers(*, secrets_in_force: Iterable[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(
            secrets_in_force=secrets_in_force, message_id=message_id, timestamp=timestamp, body=body
        ),
    }
