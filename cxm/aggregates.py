"""Sums grouped by ids, named afterwards: for reads that sum thousands of rows into a few groups."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model, QuerySet


def named_after(sums: QuerySet, key: str, model: type[Model], *columns: str) -> list[tuple]:
    """The rows of `sums` (a values() aggregate), each followed by `columns` of the `model` row its `key` names.

    The join comes after the aggregate, so the database groups integers and joins one row per
    group: grouping 12,000 theme rollup rows by their phrase as well cost more than reading them
    (docs/performance.md, "The department page").
    """
    quote = connection.ops.quote_name
    select, params = sums.query.sql_with_params()
    named = ", ".join(f"n.{quote(column)}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.*, {named} FROM ({select}) s "
            f"JOIN {quote(model._meta.db_table)} n ON n.{quote(model._meta.pk.attname)} = s.{quote(key)}",
            params,
        )
        return cursor.fetchall()
