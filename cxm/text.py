"""Text from outside must be storable and printable: no NUL, no unpaired surrogates.

PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate (`"\\ud800"` is valid
JSON), so both would fail deep in the database driver; they are refused where they arrive,
with a message naming the field. Identifiers (idempotency keys) are stricter still: an
invisible character would make two ids that look the same into two experiences.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext as _

# C0 and C1 controls, zero-width and direction marks, line/paragraph separators, word joiners, BOM.
INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff]")
SHOWN_CHARACTERS = 60


def text_problem(value: str) -> str | None:
    """Why this text cannot be stored, or None."""
    if "\x00" in value:
        return _("must not contain the NUL character (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("must be valid Unicode: it contains an unpaired surrogate (\\ud800 to \\udfff)")
    return None


def identifier_problem(value: str) -> str | None:
    """Why this id cannot be used, or None: storable, and no control or invisible characters."""
    problem = text_problem(value)
    if problem is None and INVISIBLE.search(value):
        problem = _("must not contain control or invisible characters (such as \\u200b)")
    return problem


def shown(value: Any) -> str:
    """A value quoted for an error message: escaped (repr never emits NUL or surrogates) and short."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def printable(value: str) -> str:
    """A name from the request, safe to echo back as a JSON key (an unknown field's name)."""
    return value if text_problem(value) is None and len(value) <= SHOWN_CHARACTERS else shown(value)
