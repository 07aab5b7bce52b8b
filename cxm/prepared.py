"""Statements the hot paths send thousands of times, parsed and planned once per database connection.

For one experience, PostgreSQL spends longer parsing and planning the write path's statement (a
dozen CTEs) than running it (docs/performance.md, "Prepared once per connection"). So the first
use on a connection sends `PREPARE`, and every use sends `EXECUTE`. A prepared statement outlives
a rolled-back transaction and lasts as long as its session, so each connection prepares each
statement once; a new connection (after CONN_MAX_AGE, a failed health check) prepares again.

A pooler that hands each transaction another server connection (PgBouncer in transaction mode)
cannot keep SQL-level prepared statements: set DATABASE_PREPARED_STATEMENTS=0 behind one, and the
statements travel as text.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.backends.utils import CursorWrapper

_PARAMETER = re.compile(r"%\((\w+)\)s")

# The raw driver connections and the names prepared on each: a closed connection's entry goes with it.
_prepared_on: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


class Prepared:
    """A statement with named parameters (`%(name)s`), sent as `EXECUTE name(...)` after its first use."""

    def __init__(self, name: str, sql: str) -> None:
        self.name = name
        self.sql = sql
        self.parameters: list[str] = list(dict.fromkeys(_PARAMETER.findall(sql)))
        positional = _PARAMETER.sub(lambda match: f"${self.parameters.index(match.group(1)) + 1}", sql)
        self.prepare_sql = f"PREPARE {name} AS {positional.replace('%%', '%')}"
        self.execute_sql = f"EXECUTE {name} (" + ", ".join(f"%({p})s" for p in self.parameters) + ")"

    def execute(self, cursor: CursorWrapper, params: Mapping[str, Any]) -> None:
        if not settings.DATABASE_PREPARED_STATEMENTS:
            cursor.execute(self.sql, params)
            return
        raw = cursor.db.connection
        names = _prepared_on.setdefault(raw, set())
        if self.name not in names:
            cursor.execute(self.prepare_sql)
            names.add(self.name)
        cursor.execute(self.execute_sql, params)
