"""Secrets never reach a log line: API keys, survey link tokens and webhook secrets are masked."""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
PATTERNS = [
    # `Authorization: Api-Key <key>` and the key itself (prefix.secret, djangorestframework-api-key).
    (re.compile(r"(Api-Key\s+)\S+", re.IGNORECASE), r"\1" + MASK),
    (re.compile(r"\b[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}\b"), MASK),
    # Survey links: /s/<signed token>/ lets anyone answer in the customer's name.
    (re.compile(r"(/s/)[^/\s\"'?]+"), r"\1" + MASK),
    # Webhook secrets and anything else named secret, token, password or key in key=value / JSON form.
    (
        re.compile(r"""(["']?\b(?:secret|token|password|api_key|key)\b["']?\s*[:=]\s*["']?)[^"'\s,;&})\]]+""", re.I),
        r"\1" + MASK,
    ),
]


def redact(text: str) -> str:
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """A handler filter: rewrites the formatted message and any traceback text before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
