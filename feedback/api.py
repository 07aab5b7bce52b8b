"""REST endpoints for surveys: the list (to find a slug) and bulk invitations by external id or segment."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response

from accounts import access
from customers.models import Customer
from experiences.filters import ExperienceFilter
from integrations.api import ApiCursorPagination, ApiMixin, CheckedTextJSONParser, Conflict
from integrations.models import Scope

from . import queries
from .models import Case, CaseStatus, Channel, Invitation, Survey, SurveyRule
from .models import Response as SurveyResponse
from .serializers import (
    SKIP_REASONS,
    UNKNOWN,
    CaseAssignSerializer,
    CaseCommentSerializer,
    CaseResolveSerializer,
    CaseSerializer,
    InviteRequestSerializer,
    InviteResultSerializer,
    SurveyResponseSerializer,
    SurveyRuleSerializer,
    SurveySerializer,
)
from .services import (
    CaseClosed,
    FeedbackError,
    InvitationBatch,
    assign_case,
    comment_on_case,
    create_invitations,
    invitation_url,
    resolve_case,
)

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


RESOLVED_CASE = OpenApiResponse(description="The case is already resolved; `detail` says so and nothing changed.")
CASE_WRITE_SCOPES = {"GET": Scope.CASES_WRITE, "POST": Scope.CASES_WRITE}


@extend_schema_view(
    list=extend_schema(summary="List recovery cases, newest first"),
    retrieve=extend_schema(summary="Read a recovery case"),
    assign=extend_schema(
        summary="Give an open case to a member of its department (or to nobody)",
        description=(
            'Body `{"assignee": "<username>"}`, or `{"assignee": null}` to leave it to nobody. The assignee must '
            "be an active member of the case's department, as on the case page; they are notified, and "
            "subscribers get `case.assigned`. Answers the case as it now is."
        ),
        request=CaseAssignSerializer,
        responses={200: CaseSerializer, 409: RESOLVED_CASE},
    ),
    comments=extend_schema(
        summary="Comment on a case",
        description=(
            'Body `{"text": "..."}`. The comment shows on the case page as written by "API key <name>". '
            "Resolved cases take comments too. Answers the case."
        ),
        request=CaseCommentSerializer,
        responses={201: CaseSerializer},
    ),
    resolve=extend_schema(
        summary="Resolve an open case with a note on what was done",
        description=(
            'Body `{"resolution": "..."}`. Subscribers get `case.resolved`; the case counts as recovered if the '
            "customer's next experience is positive. A case already resolved is a 409. Answers the case."
        ),
        request=CaseResolveSerializer,
        responses={200: CaseSerializer, 409: RESOLVED_CASE},
    ),
)
class CaseViewSet(ApiMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cases as the access gate shows them: the reader's departments' cases; others' are 404.

    The writes call the services the case pages call, and record the key as the one who acted.
    """

    serializer_class = CaseSerializer
    pagination_class = CasePagination
    filterset_class = CaseFilter
    lookup_value_regex = "[0-9]{1,18}"
    scopes = {"GET": Scope.CASES_READ}

    def get_queryset(self):
        return access.cases(self.reader).select_related("customer", "department", "assignee")

    @action(detail=True, methods=["post"], scopes=CASE_WRITE_SCOPES)
    def assign(self, request, pk: str, format: str | None = None) -> Response:
        case = self._case_for(access.Action.MANAGE)
        username = _valid(CaseAssignSerializer, request.data)["assignee"]
        assignee = None
        if username is not None:
            assignee = queries.assignable_users(case).filter(username=username).first()
            if assignee is None:
                raise ValidationError(
                    {
                        "assignee": [
                            _("no active member of %(department)s has the username %(username)r")
                            % {"department": case.department.name, "username": username}
                        ]
                    }
                )
        self._take_step(assign_case, case=case, assignee=assignee, by=self.reader.user, by_key=self.reader.key)
        return self._answer(case)

    @action(detail=True, methods=["post"], scopes=CASE_WRITE_SCOPES)
    def comments(self, request, pk: str, format: str | None = None) -> Response:
        case = self._case_for(access.Action.WORK)
        text = _valid(CaseCommentSerializer, request.data)["text"]
        self._take_step(comment_on_case, case=case, body=text, author=self.reader.user, by_key=self.reader.key)
        return self._answer(case, status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"], scopes=CASE_WRITE_SCOPES)
    def resolve(self, request, pk: str, format: str | None = None) -> Response:
        case = self._case_for(access.Action.WORK)
        resolution = _valid(CaseResolveSerializer, request.data)["resolution"]
        self._take_step(resolve_case, case=case, resolution=resolution, by=self.reader.user, by_key=self.reader.key)
        return self._answer(case)

    def _case_for(self, action: access.Action) -> Case:
        """The case of the URL if the caller may take this step on it: 404 when it is not theirs, as reads."""
        cases = access.cases(self.reader, action).select_related("customer", "department")
        case = access.get_or_404(cases, pk=self.kwargs["pk"])
        access.require_case_action(self.reader, case, action)
        return case

    @staticmethod
    def _take_step(step, **arguments) -> None:
        """A resolved case is a 409 (the request was right, the case moved on); other refusals a 400."""
        try:
            step(**arguments)
        except CaseClosed as error:
            raise Conflict(str(error)) from None
        except FeedbackError as error:
            raise ValidationError({"non_field_errors": [str(error)]}) from None

    def _answer(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        return Response(CaseSerializer(self.get_queryset().get(pk=case.pk)).data, status=code)


def _valid(serializer_class: type[serializers.Serializer], data) -> dict:
    """The body checked by its input serializer (400 naming each bad field); a body that is not an object too."""
    checked = serializer_class(data=data)
    checked.is_valid(raise_exception=True)
    return checked.validated_data


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
