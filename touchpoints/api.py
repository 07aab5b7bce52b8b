"""REST endpoints for the catalogue (touchpoints, departments) and a department's period report."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from integrations.api import ApiMixin
from integrations.models import Scope
from scoring.queries import department_report

from .models import Department, Touchpoint
from .serializers import DepartmentReportSerializer, DepartmentSerializer, ReportPeriodSerializer, TouchpointSerializer

DEFAULT_REPORT_DAYS = 30


@extend_schema_view(list=extend_schema(summary="List touchpoints (moments of truth) and their owners"))
class TouchpointViewSet(ApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = TouchpointSerializer
    pagination_class = None
    scopes = {"GET": Scope.CATALOGUE_READ}

    def get_queryset(self):
        return Touchpoint.objects.prefetch_related("owners__department")


@extend_schema_view(list=extend_schema(summary="List departments"))
class DepartmentViewSet(ApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Departments; the report of one needs reports:read (session users: managers of it, or admins)."""

    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer
    pagination_class = None
    lookup_field = "code"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    scopes = {"GET": Scope.CATALOGUE_READ}

    @extend_schema(
        summary="A department's figures over a period",
        description="Undecayed figures of the company calendar days `from`..`to` (both included); "
        f"by default the last {DEFAULT_REPORT_DAYS} days.",
        parameters=[ReportPeriodSerializer],
        responses=DepartmentReportSerializer,
    )
    @action(detail=True, methods=["get"], scopes={"GET": Scope.REPORTS_READ})
    def report(self, request, code: str, format: str | None = None) -> Response:
        department = self.get_object()
        if not self.reader.allows(department):
            raise PermissionDenied(_("You may only read the reports of your own departments."))
        period = ReportPeriodSerializer(data={k: v for k, v in request.query_params.items() if k in ("from", "to")})
        period.is_valid(raise_exception=True)
        end = period.validated_data.get("to") or timezone.localdate()
        start = period.validated_data.get("from") or end - timedelta(days=DEFAULT_REPORT_DAYS - 1)
        report = department_report(department, start=start, end=end)
        data = asdict(report) | {
            "department": department.code,
            "start": start,
            "end": end,
            "index": report.index,
            "balance": report.balance,
            "forgotten_share": report.forgotten_share,
            "failed_share": report.failed_share,
            "calibration": {
                "missed": report.missed,
                "met": report.met,
                "exceeded": report.exceeded,
                "missed_share": report.missed_share,
                "met_share": report.met_share,
                "exceeded_share": report.exceeded_share,
            },
        }
        return Response(DepartmentReportSerializer(data).data)
