"""REST endpoints for customers: list, read and upsert by the CRM's external id."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accounts import access
from integrations.api import ApiCursorPagination, ApiMixin
from integrations.models import Scope

from .models import EXTERNAL_ID_MAX_LENGTH, Customer, RelationshipLevel
from .serializers import CustomerSerializer
from .services import upsert_customer

EXTERNAL_ID = OpenApiParameter(
    "external_id",
    {"type": "string", "minLength": 1, "maxLength": EXTERNAL_ID_MAX_LENGTH, "pattern": r"^[^/]*\S[^/]*$"},
    OpenApiParameter.PATH,
    description=f"The customer's id in the CRM (1 to {EXTERNAL_ID_MAX_LENGTH} characters; spaces around it trimmed).",
)


class CustomerPagination(ApiCursorPagination):
    ordering = "external_id"


class CustomerFilter(django_filters.FilterSet):
    segment = django_filters.CharFilter()
    relationship_level = django_filters.ChoiceFilter(choices=RelationshipLevel.choices)
    at_risk = django_filters.BooleanFilter(
        method="filter_at_risk", label=_("true: only customers with recovery debt; false: only those without")
    )

    class Meta:
        model = Customer
        fields = ["segment", "relationship_level", "at_risk"]

    def filter_at_risk(self, queryset, name, value):
        return queryset.filter(score__recovery_debt__gt=0) if value else queryset.exclude(score__recovery_debt__gt=0)


@extend_schema_view(
    list=extend_schema(summary="List customers with their scores"),
    retrieve=extend_schema(summary="Read a customer and their score", parameters=[EXTERNAL_ID]),
    update=extend_schema(
        summary="Create or replace a customer",
        description="Upsert by external id: 201 when the customer was created, 200 when updated.",
        parameters=[EXTERNAL_ID],
        responses={200: CustomerSerializer, 201: CustomerSerializer},
    ),
    partial_update=extend_schema(
        summary="Change some fields of a customer (creates it when `name` is given)",
        parameters=[EXTERNAL_ID],
        responses={200: CustomerSerializer, 201: CustomerSerializer},
    ),
)
class CustomerViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers as the access gate shows them: all for CX admins and unlimited keys, the customers
    who dealt with their departments for managers and department-limited keys, as on the pages."""

    serializer_class = CustomerSerializer
    pagination_class = CustomerPagination
    filterset_class = CustomerFilter
    lookup_field = "external_id"
    lookup_value_regex = "[^/]+"
    scopes = {"GET": Scope.CUSTOMERS_READ, "PUT": Scope.CUSTOMERS_WRITE, "PATCH": Scope.CUSTOMERS_WRITE}

    def get_queryset(self):
        return access.customers(self.reader).select_related("score")

    def update(self, request, *args, partial: bool = False, **kwargs) -> Response:
        external_id = kwargs[self.lookup_field].strip()
        if not external_id or len(external_id) > EXTERNAL_ID_MAX_LENGTH:
            raise ValidationError(
                {"external_id": [_("must be 1 to %(max)d characters") % {"max": EXTERNAL_ID_MAX_LENGTH}]}
            )
        existing = self.get_queryset().filter(external_id=external_id).first()
        if existing is None and self.reader.department_ids is not None:
            # A reader limited to departments neither changes nor creates a customer it cannot see:
            # the same 404 whether the id exists or not, so ids cannot be enumerated.
            raise NotFound(_("No customer %(id)s among your departments' customers.") % {"id": external_id})
        serializer = self.get_serializer(existing, data=request.data, partial=partial and existing is not None)
        serializer.is_valid(raise_exception=True)
        customer, created = upsert_customer(external_id=external_id, values=serializer.validated_data)
        return Response(
            self.get_serializer(customer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def partial_update(self, request, *args, **kwargs) -> Response:
        return self.update(request, *args, partial=True, **kwargs)
