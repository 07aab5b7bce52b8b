"""The dashboards' figures, cached on Redis until the data they read changes.

A page's figures (every query result it renders) are stored under a key made of the figures'
version, the page, the reader's access scope, the filters (period dates, stages, segments)
and the language. Pages that read a streaming replica (cxm/db_router.py) are not cached: figures
a lagging replica gave would outlive its replay by up to FIGURES_SECONDS, since no rescore on the
primary follows the replay to renew the version. The version is a random token that the scoring task replaces after it
wrote scores and rollups (`figures_changed`), as do changes of departments, touchpoints and
their owners; a new version makes every stored page unreachable at once, so a view never
serves figures older than the last rescore. The page itself (user name, CSRF token, form) is
rendered per request: only figures are shared, and only between readers of the same scope.

Redis holds hints only (cxm/cache.py): while it is down or stalled, the version cannot be read
and every view computes its figures from the database. A version change that Redis missed
(a stall during the bump) is bounded by FIGURES_SECONDS, the life of every entry.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction
from django.utils import translation

from accounts.access import Reader
from cxm.db_router import reads_replica

from .filters import Filters

VERSION_KEY = "dashboards:figures-version"
# The longest a page's figures live; a missed version change is forgotten after this long.
FIGURES_SECONDS = 60

T = TypeVar("T")


def figures_changed() -> None:
    """Make every cached page unreachable once the current transaction commits (now, outside one)."""
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


def cached_figures(page: str, reader: Reader, filters: Filters, compute: Callable[[], T]) -> T:
    """`compute()`, or the figures it returned for the same page, scope, filters and language since the last change."""
    version = None if reads_replica() else _version()
    if version is None:
        return compute()
    parts = [
        page,
        scope(reader),
        filters.period.start.isoformat(),
        filters.period.end.isoformat(),
        ",".join(filters.stages or ()),
        ",".join(filters.segments or ()),
        translation.get_language() or "",
    ]
    key = f"dashboards:figures:{version}:{hashlib.sha256('|'.join(parts).encode()).hexdigest()}"
    figures: Any = cache.get(key)
    if figures is None:
        figures = compute()
        cache.set(key, figures, timeout=FIGURES_SECONDS)
    return figures
