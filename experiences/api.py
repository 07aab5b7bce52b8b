"""REST endpoints for experiences: idempotent batch ingestion and a filtered, cursor-paginated list."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import APIException, ParseError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts import access
from integrations.api import ApiMixin
from integrations.models import Scope

from .filters import ExperienceFilter
from .models import Source
from .serializers import ExperienceSerializer, IngestRequestSerializer, IngestResultSerializer
from .services import record_experiences

MAX_ITEMS = 1000
MAX_BODY_BYTES = 1024 * 1024


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


class ExperiencePagination(CursorPagination):
    ordering = ("-occurred_at", "-id")
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def items_of(data) -> list:
    """The envelope `{"experiences": [...]}` or one bare experience object; the items are the service's to check."""
    if isinstance(data, dict) and "experiences" in data:
        unknown = sorted(set(data) - {"experiences"})
        if unknown:
            raise ParseError(
                _('Unknown top-level fields %(fields)s; send {"experiences": [...]}.') % {"fields": ", ".join(unknown)}
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
    create=extend_schema(
        summary="Send experiences (1 to 1,000 per request)",
        description=(
            'Body `{"experiences": [...]}` or one experience object; at most 1 MB. Each item is accepted, '
            "reported as a duplicate of an earlier `id` (nothing new is stored), or rejected with field "
            "errors; an invalid item never costs a valid one. 201 when at least one item was accepted, "
            "200 otherwise."
        ),
        request=IngestRequestSerializer,
        responses={201: IngestResultSerializer, 200: IngestResultSerializer},
    ),
)
class ExperienceViewSet(ApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Experiences as the access gate shows them: managers and department-limited keys those charged
    to their departments, staff those they logged, CX admins and unlimited keys all."""

    serializer_class = ExperienceSerializer
    pagination_class = ExperiencePagination
    filterset_class = ExperienceFilter
    parser_classes = [JSONParser]
    scopes = {"GET": Scope.EXPERIENCES_READ, "POST": Scope.EXPERIENCES_WRITE}

    def get_queryset(self):
        return access.experiences(self.reader).select_related(
            "customer", "touchpoint", "department", "reported_from_department"
        )

    def create(self, request, *args, **kwargs) -> Response:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise PayloadTooLarge(_("The body is %(size)d bytes; send at most 1 MB per request.") % {"size": length})
        items = items_of(request.data)
        user = request.user if request.user.is_authenticated else None
        batch = record_experiences(items=items, source=Source.API, recorded_by=user)
        body = {
            "accepted": batch.accepted,
            "duplicates": batch.duplicates,
            "rejected": batch.rejected,
            "results": [{"status": r.status, "id": r.id, "key": r.key, "errors": r.errors} for r in batch.results],
        }
        return Response(body, status=status.HTTP_201_CREATED if batch.accepted else status.HTTP_200_OK)
