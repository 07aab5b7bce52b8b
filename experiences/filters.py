"""Query filters of GET /api/v1/experiences/."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from .models import VALENCE_BY_NAME, Experience


class ExperienceFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__external_id", label=_("Customer external id"))
    touchpoint = django_filters.CharFilter(field_name="touchpoint__code", label=_("Touchpoint code"))
    department = django_filters.CharFilter(field_name="department__code", label=_("Department code"))
    valence = django_filters.ChoiceFilter(
        choices=[(name, name) for name in VALENCE_BY_NAME], method="filter_valence", label=_("Valence")
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="occurred_at__gte", method="filter_moment", label=_("Occurred at or after (ISO 8601)")
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="occurred_at__lt", method="filter_moment", label=_("Occurred before (ISO 8601)")
    )

    class Meta:
        model = Experience
        fields = ["customer", "touchpoint", "department", "valence", "since", "until"]

    def filter_moment(self, queryset, name, value):
        """Compared in UTC: PostgreSQL cannot store every offset ISO 8601 can write."""
        try:
            return queryset.filter(**{name: value.astimezone(UTC)})
        except OverflowError:
            raise ValidationError({name.split("__")[0]: [_("is out of range")]}) from None

    @extend_schema_field({"type": "string", "enum": list(VALENCE_BY_NAME)})
    def filter_valence(self, queryset, name, value):
        return queryset.filter(valence=VALENCE_BY_NAME[value])
