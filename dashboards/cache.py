"""The dashboards' figures and their rendered HTML, cached on Redis, at most a few seconds behind a rescore.

A page's figures (every query result it renders) are stored under a key made of the page, the
reader's access scope, the filters (period dates, stages, segments) and the language, together
with the figures' version and the time they were computed. The version is a random token that
the scoring task replaces after it wrote scores and rollups (`figures_changed`), as do changes of
departments, touchpoints and their owners. A view serves the stored figures while their version
is the current one, and for CXM_DASHBOARD_STALE_SECONDS after they were computed even if it is
not: under a steady write load a rescore ends every second or so, and recomputing on each new
version would make nearly every view a miss. Once that window is over, one view recomputes (it
holds a short lock, `COMPUTING_SECONDS`) while the others keep serving the stored figures, so a
page is at most the window plus one recompute behind the last rescore.

The figure-heavy parts of a page are rendered once per stored entry (`Figures.fragment`) and
shared by every view that gets the same entry: same scope, filters, language and query string.
They hold no user-specific markup (CSRF tokens, the user's name, the menu): those are rendered
per request, and only between readers of the same scope is anything shared.

Pages that read a streaming replica (cxm/db_router.py) are not cached: figures a lagging replica
gave would outlive its replay by up to FIGURES_SECONDS, since no rescore on the primary follows
the replay to renew the version. Redis holds hints only (cxm/cache.py): while it is down or
stalled, the version cannot be read and every view computes and renders its figures from the
database. A version change that Redis missed (a stall during the bump) is bounded by
FIGURES_SECONDS, the life of every entry.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from accounts.access import Reader
from cxm.db_router import reads_replica

from .filters import Filters

VERSION_KEY = "dashboards:figures-version"
# The longest a page's figures live; a missed version change is forgotten after this long.
FIGURES_SECONDS = 60
# How long the view that recomputes a page's figures keeps the others serving the stored ones;
# a worker that dies mid-recompute delays the next one by at most this long.
COMPUTING_SECONDS = 30
COMPUTING = ":computing"  # the lock's key: the entry's key and this

T = TypeVar("T")


def figures_changed() -> None:
    """Make every cached page stale once the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: cache.set(VERSION_KEY, secrets.token_hex(8), timeout=None))


def _version() -> str | None:
    """The current version, started if Redis has none; None while Redis does not answer."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, secrets.token_hex(8), timeout=None)
        version = cache.get(VERSION_KEY)
    return version


def scope(reader: Reader) -> str:
    """What decides which figures a reader may see: the role's view and the departments."""
    departments = "all" if reader.department_ids is None else ",".join(map(str, sorted(reader.department_ids)))
    return f"{'customers' if reader.sees_customers else 'summary'}:{departments}"


@dataclass(frozen=True)
class Figures(Generic[T]):
    """A page's figures, when they were computed, and the stored entry they came from (None: not stored)."""

    values: T
    computed_at: datetime
    entry: str | None = None

    def fragment(self, name: str, render: Callable[[], str]) -> SafeString:
        """`render()`, or the HTML it gave for the same entry and `name` (which must hold the query string)."""
        if self.entry is None:
            return mark_safe(render())  # noqa: S308 - rendered by a template, escaped there
        key = f"{self.entry}:fragment:{hashlib.sha256(name.encode()).hexdigest()}"
        html = cache.get(key)
        if html is None:
            html = render()
            cache.set(key, html, timeout=FIGURES_SECONDS)
        return mark_safe(html)  # noqa: S308 - rendered by a template, escaped there


def entry_key(page: str, reader: Reader, filters: Filters) -> str:
    """Where a page's figures are stored for the reader's scope, the filters and the active language."""
    parts = [
        page,
        scope(reader),
        filters.period.start.isoformat(),
        filters.period.end.isoformat(),
        ",".join(filters.stages or ()),
        ",".join(filters.segments or ()),
        translation.get_language() or "",
    ]
    return f"dashboards:figures:{hashlib.sha256('|'.join(parts).encode()).hexdigest()}"


def cached_figures(page: str, reader: Reader, filters: Filters, compute: Callable[[], T]) -> Figures[T]:
    """`compute()`, or what it returned for the same page, scope, filters and language, if still fresh enough."""
    version = None if reads_replica() else _version()
    if version is None:
        return Figures(compute(), timezone.now())
    key = entry_key(page, reader, filters)
    stored = cache.get(key)
    locked = False
    if stored is not None:
        stored_version, computed_at, token, values = stored
        fresh = stored_version == version or timezone.now() - computed_at < timedelta(
            seconds=settings.CXM_DASHBOARD_STALE_SECONDS
        )
        if fresh or not (locked := cache.add(key + COMPUTING, 1, timeout=COMPUTING_SECONDS)):
            return Figures(values, computed_at, f"{key}:{token}")
    computed_at, token = timezone.now(), secrets.token_hex(8)
    try:
        values = compute()
        cache.set(key, (version, computed_at, token, values), timeout=FIGURES_SECONDS)
    finally:
        if locked:
            cache.delete(key + COMPUTING)
    return Figures(values, computed_at, f"{key}:{token}")
