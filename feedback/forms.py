"""Forms of the feedback pages: they parse and say what to fix; services decide."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Customer
from touchpoints.models import Department

from . import queries, scales
from .models import FOLLOW_UP_SCALE, FollowUpKind, Survey
from .services import CASE_NOTE_LENGTH, MAX_COMMENT_LENGTH


class SurveyAnswerForm(forms.Form):
    """The standard question, an optional "why", and the survey's optional second question."""

    score = forms.TypedChoiceField(
        coerce=int, widget=forms.RadioSelect, error_messages={"required": _("Choose a score to answer.")}
    )
    comment = forms.CharField(
        label=_("What is the main reason for your score? (optional)"),
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["score"]).choices = [(s, str(s)) for s in scales.SCALES[survey.kind].scores]
        if survey.follow_up_kind:
            choices = (
                [(str(n), str(n)) for n in FOLLOW_UP_SCALE]
                if survey.follow_up_kind == FollowUpKind.SCALE
                else survey.choices_shown
            )
            self.fields["follow_up"] = forms.ChoiceField(
                label=survey.follow_up_asked,
                choices=choices,
                required=False,
                widget=forms.RadioSelect,
                error_messages={"invalid_choice": _("Choose one of the answers offered, or leave it empty.")},
            )


class CaseFilterForm(forms.Form):
    department: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("All my departments")
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("open", _("Open")),
            ("overdue", _("Overdue")),
            ("resolved", pgettext_lazy("cases filter", "Resolved")),
            ("all", _("All")),
        ],
    )
    assignee = forms.ChoiceField(
        required=False, choices=[("", _("Anyone")), ("me", _("Me")), ("nobody", _("Nobody yet"))]
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = departments


class PersonChoiceField(forms.ModelChoiceField):
    """People by the name colleagues know them by, the username beside it to tell namesakes apart."""

    def label_from_instance(self, user) -> str:
        name = user.get_full_name()
        return f"{name} ({user.get_username()})" if name else user.get_username()


class AssignForm(forms.Form):
    assignee: forms.ModelChoiceField = PersonChoiceField(
        queryset=None, required=False, empty_label=_("Nobody"), label=_("Assign to")
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = queries.assignable_users(case)


class TransferForm(forms.Form):
    department: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, label=_("Transfer to"), empty_label=_("Choose the department that answers for it…")
    )
    reason = forms.CharField(
        label=_("Why"),
        max_length=1000,
        strip=True,
        help_text=_("Kept in the case history, so the other department knows what to do."),
        error_messages={"required": _("Say why the case moves, so the other department knows what to do.")},
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = Department.objects.filter(
            active=True
        ).exclude(pk=case.department_id)


class CommentForm(forms.Form):
    body = forms.CharField(
        label=_("Comment"), max_length=CASE_NOTE_LENGTH, widget=forms.Textarea(attrs={"rows": 3}), strip=True
    )


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution note"),
        help_text=_("What was done for the customer. Recovery is judged by their next experience."),
        max_length=CASE_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        strip=True,
    )


class InviteForm(forms.Form):
    """Who to invite from the admin: a segment, a list of external ids, or both."""

    segment = forms.CharField(required=False, max_length=60, help_text=_("Every customer of this segment."))
    external_ids = forms.CharField(
        required=False,
        label=_("External ids"),
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One customer id from the CRM per line."),
    )

    def clean(self):
        super().clean()
        data = self.cleaned_data
        ids = [line.strip() for line in data.get("external_ids", "").splitlines() if line.strip()]
        if not ids and not data.get("segment"):
            raise forms.ValidationError(_("Name a segment or paste customer ids, one per line."))
        found = Customer.objects.filter(external_id__in=ids)
        unknown = sorted(set(ids) - set(found.values_list("external_id", flat=True)))
        if unknown:
            raise forms.ValidationError(
                _("Unknown customer ids: %(ids)s. Remove them or create the customers first."),
                params={"ids": ", ".join(unknown[:20])},
            )
        customers = found
        if data.get("segment"):
            customers = customers | Customer.objects.filter(segment=data["segment"])
        data["customers"] = customers.distinct()
        if not data["customers"].exists():
            self.add_error("segment", _("No customer is in this segment."))
        return data
