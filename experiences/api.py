"""REST endpoints for experiences: idempotent batch ingestion and a filtered, cursor-paginated list."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts import access
from cxm.text import printable
from integrations.api import ApiCursorPagination, ApiMixin, PayloadTooLarge
from integrations.idempotency import HEADER, KEY_PATTERN, once
from integrations.models import ApiKey, Scope

from .filters import ExperienceFilter
from .models import Source
from .serializers import ExperienceSerializer, IngestRequestSerializer, IngestResultSerializer
from .services import record_experiences

MAX_ITEMS = 1000


class ExperiencePagination(ApiCursorPagination):
    ordering = ("-occurred_at", "-id")


def items_of(data) -> list:
    """The envelope `{"experiences": [...]}` or one bare experience object; the items are the service's to check."""
    if isinstance(data, dict) and "experiences" in data:
        unknown = sorted(set(data) - {"experiences"})
        if unknown:
            raise ParseError(
                _('Unknown top-level fields %(fields)s; send {"experiences": [...]}.')
                % {"fields": ", ".join(printable(name) for name in unknown)}
            )
        items = data["experiences"]
        if not isinstance(items, list) or not items:
            raise ParseError(_("'experiences' must be a list of 1 to %(max)d experience objects.") % {"max": MAX_ITEMS})
        if len(items) > MAX_ITEMS:
            raise PayloadTooLarge(
                _("%(count)d experiences in one request; send at most %(max)d per request.")
                % {"count": len(items), "max": MAX_ITEMS}
            )
        return items
    if isinstance(data, dict) and data:
        return [data]
    raise ParseError(_('Send a JSON object: {"experiences": [...]} or one experience.'))


@extend_schema_view(
    list=extend_schema(summary="List experiences, newest first"),
    retrieve=extend_schema(summary="Read one experience"),
    create=extend_schema(
        summary="Send experiences (1 to 1,000 per request)",
        description=(
            'Body `{"experiences": [...]}` or one experience object; at most 1 MB. Each item is accepted; '
            "a `duplicate` of an `id` this API key sent before with the same payload (nothing changes); a "
            "`conflict` when that `id` came with a different payload (nothing changes; `errors` names the "
            "fields that differ); or rejected with field errors. An invalid item never costs a valid one. "
            "Changing an existing customer's name, e-mail or segment needs `customers:write`. 201 when at "
            "least one item was accepted, 200 otherwise."
        ),
        request=IngestRequestSerializer,
        parameters=[
            OpenApiParameter(
                HEADER,
                {"type": "string", "pattern": f"^{KEY_PATTERN.pattern}$", "minLength": 1, "maxLength": 255},
                OpenApiParameter.HEADER,
                description=(
                    "Optional, 1 to 255 characters: a retry with the same key and body gets the first answer "
                    "again (header Idempotent-Replayed: true); the same key with another body is a 422. "
                    "Kept 24 hours."
                ),
            )
        ],
        responses={
            201: IngestResultSerializer,
            200: IngestResultSerializer,
        },
    ),
)
class ExperienceViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Experiences as the access gate shows them: managers and department-limited keys those charged
    to their departments, staff those they logged, CX admins and unlimited keys all."""

    serializer_class = ExperienceSerializer
    pagination_class = ExperiencePagination
    filterset_class = ExperienceFilter
    parser_classes = [JSONParser]
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {"GET": Scope.EXPERIENCES_READ, "POST": Scope.EXPERIENCES_WRITE}

    def get_queryset(self):
        return access.experiences(self.reader).select_related(
            "customer", "touchpoint", "department", "reported_from_department"
        )

    def create(self, request, *args, **kwargs) -> Response:
        return once(request, lambda: self.record(request))

    def record(self, request) -> Response:
        items = items_of(request.data)
        user = request.user if request.user.is_authenticated else None
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        batch = record_experiences(
            items=items,
            source=Source.API,
            recorded_by=user,
            api_key=api_key,
            may_change_customers=api_key is None or api_key.has_scope(Scope.CUSTOMERS_WRITE),
        )
        body = {
            "accepted": batch.accepted,
            "duplicates": batch.duplicates,
            "conflicts": batch.conflicts,
            "rejected": batch.rejected,
            "results": [{"status": r.status, "id": r.id, "key": r.key, "errors": r.errors} for r in batch.results],
        }
        return Response(body, status=status.HTTP_201_CREATED if batch.accepted else status.HTTP_200_OK)
