"""Surveys and bulk invitations as JSON for the REST API; the invitations themselves are the service's."""

from __future__ import annotations

import copy
from typing import Any, cast

from django.core.exceptions import ValidationError as ModelValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import serializers

from accounts.models import User
from customers.models import Customer
from integrations.strict_fields import StrictCharField
from touchpoints.models import Touchpoint

from .models import Case, CaseStatus, Channel, FollowUpKind, Response, Survey, SurveyRule
from .services import ALREADY_INVITED, CASE_NOTE_LENGTH, NO_EMAIL

MAX_CUSTOMERS = 1000
UNKNOWN = "unknown"
SKIP_REASONS = [UNKNOWN, NO_EMAIL, ALREADY_INVITED]
EXTERNAL_ID_LENGTH = Customer._meta.get_field("external_id").max_length
SEGMENT_LENGTH = Customer._meta.get_field("segment").max_length


class ChoicesField(serializers.ListField):
    """A second question's choices as a JSON list of strings, stored one per line."""

    child = StrictCharField(max_length=100)

    def to_representation(self, text: str) -> list[str]:  # type: ignore[override]  # stored as text
        return [line.strip() for line in text.splitlines() if line.strip()]

    def to_internal_value(self, data: Any) -> str:  # type: ignore[override]
        choices = super().to_internal_value(data)
        if any("\n" in c or "\r" in c for c in choices):
            raise serializers.ValidationError(_("a choice is one line of text"))
        return "\n".join(choices)


# The survey's own texts: English (the default language, the model's plain field) and Spanish.
TEXT_FIELDS = {
    "question_en": "question",
    "question_es": "question_es",
    "follow_up_question_en": "follow_up_question",
    "follow_up_question_es": "follow_up_question_es",
    "follow_up_choices_en": "follow_up_choices",
    "follow_up_choices_es": "follow_up_choices_es",
}


class SurveySerializer(serializers.ModelSerializer):
    touchpoint: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="code", read_only=True, help_text=_("The code of the touchpoint the survey asks about.")
    )
    question = serializers.CharField(
        source="asked",
        read_only=True,
        help_text=_("The question as the customer sees it, in the language of the request (Accept-Language)."),
    )
    question_en = StrictCharField(
        source="question",
        max_length=300,
        required=False,
        allow_blank=True,
        help_text=_("The survey's own question in English; empty: the standard question of its kind."),
    )
    question_es = StrictCharField(
        max_length=300, required=False, allow_blank=True, help_text=_("In Spanish; empty: the English text.")
    )
    follow_up_kind = serializers.ChoiceField(
        choices=[("", _("None")), *FollowUpKind.choices],
        required=False,
        allow_blank=True,
        help_text=_("An optional second question: scale (1–5) or choice (one of 2 to 8); empty: none."),
    )
    follow_up_question_en = StrictCharField(
        source="follow_up_question", max_length=300, required=False, allow_blank=True
    )
    follow_up_question_es = StrictCharField(
        max_length=300, required=False, allow_blank=True, help_text=_("In Spanish; empty: the English text.")
    )
    follow_up_choices_en = ChoicesField(
        source="follow_up_choices", required=False, help_text=_("The choices of a single-choice second question.")
    )
    follow_up_choices_es = ChoicesField(
        required=False,
        help_text=_("The same choices in Spanish, in the same order; empty: the English ones. Answers store English."),
    )

    class Meta:
        model = Survey
        fields = ["slug", "name", "kind", "touchpoint", "question", *TEXT_FIELDS, "follow_up_kind", "active"]
        read_only_fields = ["slug", "name", "kind", "touchpoint", "question", "active"]

    def validate(self, data: dict) -> dict:
        """The model's own checks (the admin's too: a second question's text, its choices), as a 400."""
        unknown = sorted(set(self.initial_data) - {name for name, f in self.fields.items() if not f.read_only})
        if unknown:
            raise serializers.ValidationError({name: [_("unknown or read-only field")] for name in unknown})
        candidate = copy.copy(cast(Survey, self.instance))  # only PATCH reaches here
        for name, value in data.items():
            setattr(candidate, name, value)
        try:
            candidate.clean_fields()
            candidate.clean()
        except ModelValidationError as error:
            api_name = {model: api for api, model in TEXT_FIELDS.items()}
            raise serializers.ValidationError(
                {api_name.get(field, field): messages for field, messages in error.message_dict.items()}
            ) from None
        return data


class InviteRequestSerializer(serializers.Serializer):
    """Either a list of external ids or one segment; never both, never neither."""

    customers = serializers.ListField(
        child=StrictCharField(max_length=EXTERNAL_ID_LENGTH),
        min_length=1,
        max_length=MAX_CUSTOMERS,
        required=False,
        error_messages={
            "min_length": _("send at least one external id"),
            "max_length": _("send at most {max_length} external ids per request; split the list"),
        },
        help_text=_("External ids of the customers to invite, 1 to 1,000."),
    )
    segment = StrictCharField(
        max_length=SEGMENT_LENGTH, required=False, help_text=_("Invite every customer of this segment instead.")
    )
    channel = serializers.ChoiceField(
        choices=Channel.choices,
        default=Channel.EMAIL,
        help_text=_(
            "email: we e-mail each customer their link. link: nothing is e-mailed; each invitation's personal "
            "link comes back in `url`, for the company to send through its own channel (SMS, helpdesk, receipt)."
        ),
    )

    def validate(self, data: dict) -> dict:
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(
                {field: [_('unknown field; send {"customers": [...]} or {"segment": "..."}')] for field in unknown}
            )
        if "customers" in data and "segment" in data:
            raise serializers.ValidationError({"segment": [_('send "customers" or "segment", not both')]})
        if "customers" not in data and "segment" not in data:
            raise serializers.ValidationError(
                {"customers": [_('send "customers" (a list of external ids) or "segment" (a segment name)')]}
            )
        if "customers" in data:
            data["customers"] = list(dict.fromkeys(data["customers"]))  # once each, in the order sent
        return data


class InvitationSerializer(serializers.Serializer):
    """An invitation; its personal link only for the `link` channel (an e-mailed link stays in the e-mail)."""

    id = serializers.IntegerField()
    customer = serializers.CharField(help_text=_("The customer's external id."))
    expires_at = serializers.DateTimeField()
    url = serializers.URLField(
        allow_null=True, help_text=_("The personal link, for the link channel; null when it was e-mailed.")
    )


class SurveyRuleSerializer(serializers.ModelSerializer):
    """A survey rule, addressed by its touchpoint's code (one rule per touchpoint)."""

    touchpoint = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Touchpoint.objects.filter(active=True),
        help_text=_("The code of the touchpoint whose experiences trigger the survey."),
    )
    survey: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", queryset=Survey.objects.all(), help_text=_("The slug of the survey to send.")
    )
    sample_percent = serializers.IntegerField(min_value=1, max_value=100, default=100)

    class Meta:
        model = SurveyRule
        fields = ["touchpoint", "survey", "delay_minutes", "sample_percent", "seed", "active", "created_at"]
        read_only_fields = ["created_at"]


class SkippedCustomerSerializer(serializers.Serializer):
    customer = serializers.CharField(help_text=_("The external id as sent (for a segment: the customer's)."))
    reason = serializers.ChoiceField(
        choices=SKIP_REASONS,
        help_text=_(
            "unknown: no such customer (or not one you may see); no_email: no address to send to; "
            "already_invited: an unanswered, unexpired invitation to this survey exists."
        ),
    )


class InviteCountsSerializer(serializers.Serializer):
    invited = serializers.IntegerField()
    unknown = serializers.IntegerField()
    no_email = serializers.IntegerField()
    already_invited = serializers.IntegerField()


class InviteResultSerializer(serializers.Serializer):
    survey = serializers.CharField(help_text=_("The survey's slug."))
    counts = InviteCountsSerializer()
    invitations = InvitationSerializer(many=True, help_text=_("Created now (and queued for e-mail)."))
    skipped = SkippedCustomerSerializer(many=True, help_text=_("Not invited, and why."))


class CaseSerializer(serializers.ModelSerializer):
    experience: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text=_("GET /experiences/{id}/")
    )
    customer: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    department: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assignee: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    overdue = serializers.SerializerMethodField(help_text=_("Open and past its due time."))

    class Meta:
        model = Case
        fields = [
            "id",
            "experience",
            "customer",
            "department",
            "assignee",
            "status",
            "opened_at",
            "due_at",
            "overdue",
            "escalated_at",
            "resolved_at",
            "resolution",
        ]
        read_only_fields = fields

    def get_overdue(self, case: Case) -> bool:
        return case.status == CaseStatus.OPEN and case.due_at < timezone.now()


class CaseAssignSerializer(serializers.Serializer):
    assignee = StrictCharField(
        max_length=User._meta.get_field("username").max_length,
        allow_null=True,
        help_text=_("The username of an active member of the case's department; null leaves the case to nobody."),
    )


class CaseCommentSerializer(serializers.Serializer):
    text = StrictCharField(
        max_length=CASE_NOTE_LENGTH, help_text=_("The comment, as colleagues read it on the case page.")
    )


class CaseResolveSerializer(serializers.Serializer):
    resolution = StrictCharField(
        max_length=CASE_NOTE_LENGTH,
        help_text=_("What was done for the customer. Recovery is judged by their next experience."),
    )


class SurveyResponseSerializer(serializers.ModelSerializer):
    """One survey answer: the score on the survey's scale, the comment and how it reads."""

    survey: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    customer: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="external_id", read_only=True)
    experience: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text=_("The experience the answer became (GET /experiences/{id}/).")
    )

    class Meta:
        model = Response
        fields = ["id", "survey", "customer", "score", "comment", "sentiment", "flagged", "experience", "created_at"]
        read_only_fields = fields
