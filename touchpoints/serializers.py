"""The catalogue as JSON: departments, touchpoints and who owns them, and a department's report."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from .models import Department, Touchpoint


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["code", "name", "active"]


class TouchpointSerializer(serializers.ModelSerializer):
    departments = serializers.SerializerMethodField(help_text=_("Codes of the owning departments."))
    primary_department = serializers.SerializerMethodField(
        help_text=_("The department answerable by default for experiences here.")
    )

    class Meta:
        model = Touchpoint
        fields = ["code", "name", "channel", "stage", "description", "active", "departments", "primary_department"]

    def get_departments(self, touchpoint: Touchpoint) -> list[str]:
        return sorted(o.department.code for o in touchpoint.owners.all())

    def get_primary_department(self, touchpoint: Touchpoint) -> str | None:
        return next((o.department.code for o in touchpoint.owners.all() if o.primary), None)


class ReportPeriodSerializer(serializers.Serializer):
    """The query `?from=&to=`: company calendar days, both included."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(required=False, help_text=_("First day, YYYY-MM-DD.")),
            "to": serializers.DateField(required=False, help_text=_("Last day, YYYY-MM-DD.")),
        }

    def validate(self, attrs: dict) -> dict:
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": [_("must not be after 'to'")]})
        return attrs


class CalibrationSerializer(serializers.Serializer):
    missed = serializers.IntegerField()
    met = serializers.IntegerField()
    exceeded = serializers.IntegerField()
    missed_share = serializers.FloatField(allow_null=True, help_text=_("High means over-promising."))
    met_share = serializers.FloatField(allow_null=True)
    exceeded_share = serializers.FloatField(allow_null=True)


class DepartmentReportSerializer(serializers.Serializer):
    """A `scoring.queries.PeriodReport` of one department: undecayed figures of the period."""

    department = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    index = serializers.FloatField(allow_null=True, help_text=_("100·P / (P + 5·N); null when nothing happened."))
    balance = serializers.FloatField()
    positive_mass = serializers.FloatField()
    negative_mass = serializers.FloatField()
    experiences = serializers.IntegerField()
    positives = serializers.IntegerField()
    neutrals = serializers.IntegerField()
    negatives = serializers.IntegerField()
    forgotten_share = serializers.FloatField(allow_null=True, help_text=_("Share of neutral experiences."))
    calibration = CalibrationSerializer(help_text=_("Expectations missed / met / exceeded."))
    failed = serializers.IntegerField(help_text=_("Experiences whose tangible outcome failed."))
    failed_share = serializers.FloatField(allow_null=True)
