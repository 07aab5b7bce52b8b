"""REST endpoints for surveys: the list (to find a slug) and bulk invitations by external id or segment."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts import access
from customers.models import Customer
from experiences.filters import ExperienceFilter
from integrations.api import ApiCursorPagination, ApiMixin, CheckedTextJSONParser
from integrations.models import Scope

from .models import Case, CaseStatus, Channel, Invitation, Survey, SurveyRule
from .models import Response as SurveyResponse
from .serializers import (
    SKIP_REASONS,
    UNKNOWN,
    CaseSerializer,
    InviteRequestSerializer,
    InviteResultSerializer,
    SurveyResponseSerializer,
    SurveyRuleSerializer,
    SurveySerializer,
)
from .services import FeedbackError, InvitationBatch, create_invitations, invitation_url

SLUG_REGEX = "[-a-zA-Z0-9_]+"
SLUG = OpenApiParameter(
    "slug",
    str,
    OpenApiParameter.PATH,
    pattern=f"^{SLUG_REGEX}$",
    description="The survey's slug (GET /api/v1/surveys/).",
)


@extend_schema_view(
    list=extend_schema(summary="List surveys (NPS, CSAT, CES) and the touchpoint each asks about"),
    retrieve=extend_schema(summary="Read a survey with its texts in English and Spanish", parameters=[SLUG]),
    partial_update=extend_schema(
        summary="Change a survey's texts (question, second question, choices) in English and Spanish",
        parameters=[SLUG],
    ),
)
class SurveyViewSet(
    ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet
):
    """Surveys are part of the catalogue (catalogue:read); changing their texts and inviting need surveys:write."""

    queryset = Survey.objects.select_related("touchpoint")
    serializer_class = SurveySerializer
    pagination_class = None
    lookup_field = "slug"
    lookup_value_regex = SLUG_REGEX
    http_method_names = ["get", "post", "patch", "head", "options"]
    scopes = {"GET": Scope.CATALOGUE_READ, "PATCH": Scope.SURVEYS_WRITE}

    def perform_update(self, serializer) -> None:
        department_ids = self.reader.department_ids
        touchpoint = serializer.instance.touchpoint
        if department_ids is not None and not touchpoint.departments.filter(pk__in=department_ids).exists():
            raise PermissionDenied(_("You may only change surveys of your departments' touchpoints."))
        serializer.save()

    @extend_schema(
        summary="Invite customers to a survey (1 to 1,000 external ids, or a segment)",
        description=(
            'Body `{"customers": ["EXT-1", ...]}` or `{"segment": "smb"}`, and `"channel"`: `email` '
            "(default) or `link`. Each customer is invited once: one with an unanswered invitation that has "
            "not expired (or, by e-mail, without an address) is skipped and listed with the reason. E-mails "
            "go out after the invitations are stored, and an e-mailed link never comes back here; with "
            "`link`, nothing is e-mailed and each invitation carries its personal `url` for the company to "
            "send itself. 201 when at least one invitation was created, 200 otherwise."
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
        department_ids = self.reader.department_ids
        if department_ids is not None and not survey.touchpoint.departments.filter(pk__in=department_ids).exists():
            raise PermissionDenied(_("You may only invite customers to surveys of your departments' touchpoints."))
        wanted = InviteRequestSerializer(data=request.data)
        wanted.is_valid(raise_exception=True)
        customers = access.customers(self.reader)
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
            batch = create_invitations(survey=survey, customers=chosen, channel=wanted.validated_data["channel"])
        except FeedbackError as error:
            raise ValidationError({"survey": [str(error)]}) from None
        return Response(
            InviteResultSerializer(result_of(survey, chosen, unknown, batch)).data,
            status=status.HTTP_201_CREATED if batch.created else status.HTTP_200_OK,
        )


def result_of(survey: Survey, chosen: list[Customer], unknown: list[str], batch: InvitationBatch) -> dict:
    """The answer: the invitations in the order asked, then the unknown ids, then the others skipped."""
    created = {i.customer_id: i for i in Invitation.objects.filter(pk__in=batch.created)}
    invitations = [
        {
            "id": created[c.pk].pk,
            "customer": c.external_id,
            "expires_at": created[c.pk].expires_at,
            "url": invitation_url(created[c.pk]) if created[c.pk].channel == Channel.LINK else None,
        }
        for c in chosen
        if c.pk in created
    ]
    skipped = [{"customer": i, "reason": UNKNOWN} for i in unknown] + [
        {"customer": c.external_id, "reason": batch.skipped[c.pk]} for c in chosen if c.pk in batch.skipped
    ]
    counts = {"invited": len(invitations)} | {r: sum(s["reason"] == r for s in skipped) for r in SKIP_REASONS}
    return {"survey": survey.slug, "counts": counts, "invitations": invitations, "skipped": skipped}


@extend_schema_view(
    list=extend_schema(summary="List survey rules (which touchpoint's experiences trigger which survey)"),
    retrieve=extend_schema(summary="Read the survey rule of a touchpoint"),
    create=extend_schema(summary="Make a survey rule for a touchpoint (one per touchpoint)"),
    update=extend_schema(summary="Replace a touchpoint's survey rule"),
    partial_update=extend_schema(summary="Change a touchpoint's survey rule"),
    destroy=extend_schema(summary="Remove a touchpoint's survey rule"),
)
class SurveyRuleViewSet(ApiMixin, viewsets.ModelViewSet):
    """Triggered surveys (docs/feedback.md): after an experience at the touchpoint, invite after a delay."""

    serializer_class = SurveyRuleSerializer
    pagination_class = None
    lookup_field = "touchpoint__code"
    lookup_url_kwarg = "touchpoint"
    lookup_value_regex = SLUG_REGEX
    parser_classes = [CheckedTextJSONParser]
    scopes = {method: Scope.SURVEYS_WRITE for method in ("GET", "POST", "PUT", "PATCH", "DELETE")}

    def get_queryset(self):
        rules = SurveyRule.objects.select_related("touchpoint", "survey").order_by("touchpoint__code")
        department_ids = self.reader.department_ids
        if department_ids is not None:  # managers: the rules of their departments' touchpoints
            rules = rules.filter(touchpoint__owners__department__in=department_ids).distinct()
        return rules

    def perform_create(self, serializer) -> None:
        touchpoint = serializer.validated_data["touchpoint"]
        if SurveyRule.objects.filter(touchpoint=touchpoint).exists():
            raise ValidationError(
                {"touchpoint": [_("%(code)s already has a rule; change it with PATCH") % {"code": touchpoint.code}]}
            )
        self._check_department(touchpoint)
        serializer.save()

    def perform_update(self, serializer) -> None:
        self._check_department(serializer.validated_data.get("touchpoint", serializer.instance.touchpoint))
        serializer.save()

    def _check_department(self, touchpoint) -> None:
        department_ids = self.reader.department_ids
        if department_ids is not None and not touchpoint.owners.filter(department__in=department_ids).exists():
            raise PermissionDenied(_("You may only make rules for your departments' touchpoints."))


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
    """Cases as the access gate shows them: the reader's departments' cases; others' are 404."""

    serializer_class = CaseSerializer
    pagination_class = CasePagination
    filterset_class = CaseFilter
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {"GET": Scope.CASES_READ}

    def get_queryset(self):
        return access.cases(self.reader).select_related("customer", "department", "assignee")


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
    """Survey answers as the access gate shows them: about the reader's departments' moments; others' are 404."""

    serializer_class = SurveyResponseSerializer
    pagination_class = SurveyResponsePagination
    filterset_class = SurveyResponseFilter
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {"GET": Scope.RESPONSES_READ}

    def get_queryset(self):
        return access.responses(self.reader).select_related("survey", "customer")
