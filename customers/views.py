"""The customer page: score card and the timeline of every experience (the continuum)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _

from accounts import access
from accounts.requests import AuthenticatedRequest
from dashboards.exports import csv_response
from dashboards.filters import read_filters
from dashboards.views import render_dashboard, unknown_export
from scoring.queries import customer_score

from . import queries

DEFAULT_DAYS = 365


@login_required
def timeline(request: AuthenticatedRequest, external_id: str) -> HttpResponseBase:
    reader = access.reader_of(request)
    access.require_customers(reader)
    customer = access.get_or_404(access.customers(reader), external_id=external_id)
    form, filters = read_filters(request.GET, default_days=DEFAULT_DAYS, by_segment=False)
    context: dict[str, Any] = {"form": form, "filters": filters, "customer": customer}
    if filters is None:
        return render_dashboard(request, "customers/timeline.html", context, status=400)
    start, end = filters.period.moments
    export = request.GET.get("export")
    if export == "experiences":
        return csv_response(
            f"cxm-customer-{customer.pk}-{filters.period.start}-{filters.period.end}.csv",
            queries.TIMELINE_FIELDS,
            queries.experiences_for_export(customer, start=start, end=end, stages=filters.stages),
        )
    if export:
        return unknown_export(export, ["experiences"])
    before = queries.parse_cursor(request.GET.get("before", ""))
    newest = request.GET.copy()
    for name in ("before", "export"):
        newest.pop(name, None)
    page = queries.timeline(customer, start=start, end=end, stages=filters.stages, before=before)
    chronological = page.entries[::-1]
    context |= {
        "may_open_cases": reader.manages,
        "score": customer_score(customer),
        "page": page,
        "older": before is not None,
        "newest_query": newest.urlencode(),
        "impact_chart": {
            "kind": "bar",
            "label": _("Impact of each experience"),
            "labels": [e["occurred_at"].date().isoformat() for e in chronological],
            "values": [round(e["impact"], 1) for e in chronological],
            "valences": [e["valence"] for e in chronological],
            "min": -5,
            "max": 5,
        },
    }
    return render_dashboard(request, "customers/timeline.html", context)
