"""REST endpoints for customers: list, read and upsert by the CRM's external id."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from integrations.api import ApiCursorPagination, ApiMixin
from integrations.models import Scope

from .models import Customer, RelationshipLevel
from .queries import visible_customers
from .serializers import CustomerSerializer
from .services import upsert_customer

EXTERNAL_ID = OpenApiParameter(
    "external_id",
    {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[^/]*\S[^/]*$"},
    OpenApiParameter.PATH,
    description="The customer's id in the CRM (1 to 100 characters; spaces around it are trimmed).",
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
    """API keys and CX admins see every customer; other session users see the customers who dealt
    with their departments, as on the customer pages."""

    serializer_class = CustomerSerializer
    pagination_class = CustomerPagination
    filterset_class = CustomerFilter
    lookup_field = "external_id"
    lookup_value_regex = "[^/]+"
    scopes = {"GET": Scope.CUSTOMERS_READ, "PUT": Scope.CUSTOMERS_WRITE, "PATCH": Scope.CUSTOMERS_WRITE}

    def get_queryset(self):
        return visible_customers(department_ids=self.reader_department_ids()).select_related("score")

    def update(self, request, *args, partial: bool = False, **kwargs) -> Response:
        external_id = kwargs[self.lookup_field].strip()
        if not external_id or len(external_id) > 100:
            raise ValidationError({"external_id": [_("must be 1 to 100 characters")]})
        existing = Customer.objects.select_related("score").filter(external_id=external_id).first()
        if existing is not None and not self.get_queryset().filter(pk=existing.pk).exists():
            raise PermissionDenied(_("This customer has had no experience with your departments."))
        serializer = self.get_serializer(existing, data=request.data, partial=partial and existing is not None)
        serializer.is_valid(raise_exception=True)
        customer, created = upsert_customer(external_id=external_id, values=serializer.validated_data)
        return Response(
            self.get_serializer(customer).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def partial_update(self, request, *args, **kwargs) -> Response:
        return self.update(request, *args, partial=True, **kwargs)
