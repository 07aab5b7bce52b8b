"""REST endpoints for surveys: the list (to find a slug) and bulk invitations by external id or segment."""

from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from customers.models import Customer
from customers.queries import visible_customers
from experiences.filters import ExperienceFilter
from integrations.api import ApiCursorPagination, ApiMixin, CheckedTextJSONParser
from integrations.models import Scope
from touchpoints.models import TouchpointOwner

from .models import Case, CaseStatus, Invitation, Survey
from .models import Response as SurveyResponse
from .serializers import (
    SKIP_REASONS,
    UNKNOWN,
    CaseSerializer,
    InviteRequestSerializer,
    InviteResultSerializer,
    SurveyResponseSerializer,
    SurveySerializer,
)
from .services import FeedbackError, InvitationBatch, create_invitations

SLUG_REGEX = "[-a-zA-Z0-9_]+"
SLUG = OpenApiParameter(
    "slug",
    str,
    OpenApiParameter.PATH,
    pattern=f"^{SLUG_REGEX}$",
    description="The survey's slug (GET /api/v1/surveys/).",
)


@extend_schema_view(list=extend_schema(summary="List surveys (NPS, CSAT, CES) and the touchpoint each asks about"))
class SurveyViewSet(ApiMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Surveys are part of the catalogue (catalogue:read); inviting needs surveys:write."""

    queryset = Survey.objects.select_related("touchpoint")
    serializer_class = SurveySerializer
    pagination_class = None
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX
    scopes = {"GET": Scope.CATALOGUE_READ}

    @extend_schema(
        summary="Invite customers to a survey (1 to 1,000 external ids, or a segment)",
        description=(
            'Body `{"customers": ["EXT-1", ...]}` or `{"segment": "smb"}`. Each customer is invited once: '
            "one without an e-mail address, or with an unanswered invitation that has not expired, is "
            "skipped and listed with the reason. The e-mails go out after the invitations are stored; the "
            "answer never carries the survey link, which only the customer's e-mail does. 201 when at "
            "least one invitation was created, 200 otherwise."
        ),
        parameters=[SLUG],
        request=InviteRequestSerializer,
        responses={201: InviteResultSerializer, 200: InviteResultSerializer},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="invitations",
        parser_classes=[CheckedTextJSONParser],
        scopes={"GET": Scope.SURVEYS_WRITE, "POST": Scope.SURVEYS_WRITE},
    )
    def invitations(self, request, slug: str, format: str | None = None) -> Response:
        survey = self.get_queryset().filter(slug=slug).first()
        if survey is None:
            raise NotFound(_("Unknown survey %(slug)r; GET /api/v1/surveys/ lists them.") % {"slug": slug})
        department_ids = self.reader_department_ids()
        if department_ids is not None and not survey.touchpoint.departments.filter(pk__in=department_ids).exists():
            raise PermissionDenied(_("You may only invite customers to surveys of your departments' touchpoints."))
        wanted = InviteRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        customers = visible_customers(department_ids=department_ids)
        if "segment" in wanted.validated_data:
            segment = wanted.validated_data["segment"]
            chosen = list(customers.filter(segment=segment).order_by("external_id"))
            if not chosen:
                raise ValidationError(
                    {"segment": [_("no customer has the segment %(segment)r") % {"segment": segment}]}
                )
            unknown = []
        else:
            ids = wanted.validated_data["customers"]
            found = {c.external_id: c for c in customers.filter(external_id__in=ids)}
            chosen = [found[i] for i in ids if i in found]
            unknown = [i for i in ids if i not in found]
        try:
            batch = create_invitations(survey=survey, customers=chosen)
        except FeedbackError as error:
            raise ValidationError({"survey": [str(error)]}) from None
        return Response(
            InviteResultSerializer(result_of(survey, chosen, unknown, batch)).data,
            status=status.HTTP_201_CREATED if batch.created else status.HTTP_200_OK,
        )


def result_of(survey: Survey, chosen: list[Customer], unknown: list[str], batch: InvitationBatch) -> dict:
    """The answer: the invitations in the order asked, then the unknown ids, then the others skipped."""
    created = {
        row["customer_id"]: row
        for row in Invitation.objects.filter(pk__in=batch.created).values("id", "customer_id", "expires_at")
    }
    invitations = [{**created[c.pk], "customer": c.external_id} for c in chosen if c.pk in created]
    skipped = [{"customer": i, "reason": UNKNOWN} for i in unknown] + [
        {"customer": c.external_id, "reason": batch.skipped[c.pk]} for c in chosen if c.pk in batch.skipped
    ]
    counts = {"invited": len(invitations)} | {r: sum(s["reason"] == r for s in skipped) for r in SKIP_REASONS}
    return {"survey": survey.slug, "counts": counts, "invitations": invitations, "skipped": skipped}


class CaseFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=CaseStatus.choices)
    department = filters.CharFilter(field_name="department__code", label=gettext_lazy("Department code"))
    customer = filters.CharFilter(field_name="customer__external_id", label=gettext_lazy("Customer external id"))

    class Meta:
        model = Case
        fields = ["status", "department", "customer"]


class CasePagination(ApiCursorPagination):
    ordering = ("-opened_at", "-id")


@extend_schema_view(
    list=extend_schema(summary="List recovery cases, newest first"),
    retrieve=extend_schema(summary="Read a recovery case"),
)
class CaseViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """API keys and CX admins see every case; managers the cases of their departments (others are 404)."""

    serializer_class = CaseSerializer
    pagination_class = CasePagination
    filterset_class = CaseFilter
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {"GET": Scope.CASES_READ}

    def get_queryset(self):
        cases = Case.objects.select_related("customer", "department", "assignee")
        department_ids = self.reader_department_ids()
        return cases if department_ids is None else cases.filter(department_id__in=department_ids)


class SurveyResponseFilter(filters.FilterSet):
    survey = filters.CharFilter(field_name="survey__slug", label=gettext_lazy("Survey slug"))
    customer = filters.CharFilter(field_name="customer__external_id", label=gettext_lazy("Customer external id"))
    since = filters.IsoDateTimeFilter(
        field_name="created_at__gte", method="filter_moment", label=gettext_lazy("Answered at or after (ISO 8601)")
    )
    filter_moment = ExperienceFilter.filter_moment

    class Meta:
        model = SurveyResponse
        fields = ["survey", "customer", "since"]


class SurveyResponsePagination(ApiCursorPagination):
    ordering = ("-created_at", "-id")


@extend_schema_view(
    list=extend_schema(summary="List survey answers, newest first"),
    retrieve=extend_schema(summary="Read a survey answer"),
)
class SurveyResponseViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """API keys and CX admins read every answer; managers the answers to their departments' touchpoints' surveys."""

    serializer_class = SurveyResponseSerializer
    pagination_class = SurveyResponsePagination
    filterset_class = SurveyResponseFilter
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {"GET": Scope.RESPONSES_READ}

    def get_queryset(self):
        answers = SurveyResponse.objects.select_related("survey", "customer")
        department_ids = self.reader_department_ids()
        if department_ids is None:
            return answers
        owned = TouchpointOwner.objects.filter(
            touchpoint_id=OuterRef("survey__touchpoint_id"), department_id__in=department_ids
        )
        return answers.filter(Exists(owned))
