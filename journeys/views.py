"""The journey map: perception → interaction → remembrance, a score per step, the weakest marked."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from accounts import access
from accounts.requests import AuthenticatedRequest
from dashboards.cache import cached_figures
from dashboards.filters import read_filters
from dashboards.tables import journey_table, rounded
from dashboards.views import export_experiences, export_table, render_dashboard, unknown_export

from . import queries


@login_required
def journey_map(request: AuthenticatedRequest, slug: str) -> HttpResponseBase:
    reader = access.reader_of(request)
    access.require_customers(reader)
    journey = access.get_or_404(access.journeys(reader), slug=slug)
    form, filters = read_filters(request.GET)
    context: dict[str, Any] = {"form": form, "filters": filters, "journey": journey}
    if filters is None:
        return render_dashboard(request, "journeys/map.html", context, status=400)
    stored = cached_figures(
        f"journey:{journey.pk}",
        reader,
        filters,
        partial(queries.journey_map, journey, filters=filters, department_ids=reader.department_ids),
    )
    figures = stored.values
    export = request.GET.get("export")
    if export == "experiences":
        return export_experiences(
            journey.slug,
            filters,
            department_ids=reader.department_ids,
            touchpoint_ids={f.step.touchpoint_id for f in figures.steps},
        )
    if export == "steps":
        return export_table(f"journey-{journey.slug}", filters, journey_table(figures.steps))
    if export:
        return unknown_export(export, ["steps", "experiences"])
    context |= {
        "computed_at": stored.computed_at,
        "map": figures,
        "steps_chart": {
            "kind": "bar",
            "horizontal": True,
            "label": _("Experience index per step"),
            "labels": [f"{f.step.position}. {f.step.touchpoint.name}" for f in figures.steps],
            "values": [rounded(f.report.index) for f in figures.steps],
        },
    }
    return render_dashboard(request, "journeys/map.html", context)
