"""Dashboard reads on a PostgreSQL streaming replica, everything else on the primary (docs/scaling.md, step 4).

Active only when `DATABASE_REPLICA_URL` is set (settings add the `replica` alias, the router and the
middleware). A read goes to the replica only when all of these hold:

- the request is a GET or HEAD of a dashboard page or export (`REPLICA_NAMESPACES`), including the
  streamed body of a CSV export, which is produced after the view has returned;
- this browser made no write (POST, PUT, PATCH, DELETE) in the last `CXM_REPLICA_PIN_SECONDS`
  (read-your-writes: a manager who just changed the catalogue sees the change on the next page);
- the model belongs to the reported data (`REPLICA_APPS`): sessions, users, department memberships
  and API keys always come from the primary, so a sign-in or a revoked membership takes effect at
  once however far the replica lags;
- no transaction is open on the primary (a read inside a write transaction sees that transaction);
- the replica answers: when it does not, the pages read the primary and the process leaves the
  replica alone for `CXM_REPLICA_RETRY_SECONDS` (a stopped replica slows nothing and breaks nothing).

Writes and migrations always go to the primary. Celery tasks, the API and every other page never
read the replica.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TypeGuard, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Model
from django.http import HttpRequest
from django.http.response import HttpResponseBase, StreamingHttpResponse

REPLICA = "replica"
# URL namespaces whose GET pages and exports read only reported figures.
REPLICA_NAMESPACES = frozenset({"dashboards", "journeys"})
# Apps holding the reported data; identity and access (accounts, sessions, auth) stay on the primary.
REPLICA_APPS = frozenset({"touchpoints", "customers", "experiences", "journeys", "scoring", "feedback"})
PIN_COOKIE = "cxm_primary"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_on_replica: ContextVar[bool] = ContextVar("cxm_reads_on_replica", default=False)
_replica_skipped_until = 0.0  # time.monotonic() before which this process reads the primary instead

log = logging.getLogger(__name__)


def reads_replica() -> bool:
    """Whether this request's reads of reported data go to the replica (caches keep the two apart)."""
    return _on_replica.get()


class ReplicaRouter:
    """Reads of reported data to the replica while a dashboard request says so; all else to the primary."""

    def db_for_read(self, model: type[Model], **hints: object) -> str | None:
        if (
            _on_replica.get()
            and model._meta.app_label in REPLICA_APPS
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: object) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: object) -> bool:
        return True  # the replica holds the same rows as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: object) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReplicaReadsMiddleware:
    """Marks dashboard GETs as replica reads, and pins a browser to the primary after its own writes."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            response = self.get_response(request)
        finally:
            _on_replica.set(False)
        if request.method not in SAFE_METHODS and _is_a_browser(request, response):
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.CXM_REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        elif getattr(request, "reads_replica", False) and _is_a_wsgi_stream(response):
            response.streaming_content = _chunks_on_replica(cast(Iterator[bytes], response.streaming_content))
        return response

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: tuple, view_kwargs: dict) -> None:
        match = request.resolver_match
        request.reads_replica = (  # type: ignore[attr-defined]
            request.method in ("GET", "HEAD")
            and match is not None
            and match.namespace in REPLICA_NAMESPACES
            and PIN_COOKIE not in request.COOKIES
            and _replica_answers()
        )
        _on_replica.set(request.reads_replica)  # type: ignore[attr-defined]


def _replica_answers() -> bool:
    """Connected, or connectable now; a dead persistent connection fails its health check and is replaced."""
    global _replica_skipped_until
    if time.monotonic() < _replica_skipped_until:
        return False
    replica = connections[REPLICA]
    try:
        replica.close_if_health_check_failed()
        replica.ensure_connection()
    except DatabaseError as exc:
        log.warning("replica unavailable, dashboards read the primary: %s", exc)
        _replica_skipped_until = time.monotonic() + settings.CXM_REPLICA_RETRY_SECONDS
        return False
    return True


def _is_a_wsgi_stream(response: HttpResponseBase) -> TypeGuard[StreamingHttpResponse]:
    """A CSV export under WSGI: its body is a plain iterator, read as it is sent."""
    return isinstance(response, StreamingHttpResponse) and not response.is_async


def _is_a_browser(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Signed in, or signing in now: API clients never read dashboards and get no pin."""
    name = settings.SESSION_COOKIE_NAME
    return name in request.COOKIES or name in response.cookies


def _chunks_on_replica(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A streamed export is read while the server sends it, after the view returned: read it from the replica too."""
    iterator = iter(chunks)
    while True:
        token = _on_replica.set(True)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _on_replica.reset(token)
        yield chunk
