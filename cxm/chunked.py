"""Chunked request bodies reach Django whole.

gunicorn de-chunks a `Transfer-Encoding: chunked` body and marks the stream as terminated
(`wsgi.input_terminated`), but sends no CONTENT_LENGTH; Django then reads the body as empty,
and an integration streaming its JSON would be told it sent nothing. This WSGI wrapper reads
such a body (up to a limit) and gives Django its length. A body over the limit is passed on
cut at limit + 1 bytes, so the length check of the view it reaches refuses it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

CHUNKED_BODY_LIMIT = 32 * 1024 * 1024


class ChunkedBodies:
    def __init__(self, app: Callable[..., Iterable[bytes]], limit: int = CHUNKED_BODY_LIMIT) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if chunked and not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
