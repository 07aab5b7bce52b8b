"""Everything held about one customer, gathered by walking the foreign keys that point at them."""

from __future__ import annotations

from typing import Any

from django.db import models

from customers.models import Customer


def customer_data(customer: Customer) -> dict[str, Any]:
    """The customer's row, every row that refers to them, and the rows that refer to those.

    Walking the relations instead of naming models means a table added later (a new kind of
    feedback, say) is exported without anyone remembering to add it here. One query per model.
    """
    related: dict[str, list[dict[str, Any]]] = {}
    direct: dict[type[models.Model], list[models.Model]] = {}
    for relation in _relations_to(Customer):
        rows = list(relation.related_model._default_manager.filter(**{relation.field.name: customer}))
        direct.setdefault(relation.related_model, []).extend(rows)
    for model, rows in direct.items():
        related.setdefault(_label(model), []).extend(_row(r) for r in rows)
    for model, rows in direct.items():
        for relation in _relations_to(model):
            if relation.related_model in direct or relation.related_model is Customer or not rows:
                continue
            nested = relation.related_model._default_manager.filter(**{f"{relation.field.name}__in": rows})
            related.setdefault(_label(relation.related_model), []).extend(_row(r) for r in nested)
    return {"customer": _row(customer), "related": {label: rows for label, rows in sorted(related.items()) if rows}}


def _relations_to(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    return [r for r in model._meta.related_objects if not r.many_to_many and r.field.concrete]


def _label(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


def _row(obj: models.Model) -> dict[str, Any]:
    return {field.attname: field.value_from_object(obj) for field in obj._meta.concrete_fields}


def last_erasure(external_id: str):
    """The audit entry of the erasure that removed this external id, if there was one."""
    from .models import AuditAction, AuditEntry

    return AuditEntry.objects.filter(action=AuditAction.ERASE, subject=external_id).order_by("-at").first()
