"""Forms of the feedback pages: they parse and say what to fix; services decide."""

from typing import cast

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from customers.models import Customer

from . import queries, scales
from .services import MAX_COMMENT_LENGTH


class SurveyAnswerForm(forms.Form):
    score = forms.TypedChoiceField(
        coerce=int, widget=forms.RadioSelect, error_messages={"required": _("Choose a score to answer.")}
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us? (optional)"),
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["score"]).choices = [(s, str(s)) for s in scales.SCALES[kind].scores]


class CaseFilterForm(forms.Form):
    department: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("All my departments")
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("open", _("Open")), ("overdue", _("Overdue")), ("resolved", _("Resolved")), ("all", _("All"))],
    )
    assignee = forms.ChoiceField(
        required=False, choices=[("", _("Anyone")), ("me", _("Me")), ("nobody", _("Nobody yet"))]
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["department"]).queryset = queries.managed_departments(user)


class AssignForm(forms.Form):
    assignee: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=None, required=False, empty_label=_("Nobody"), label=_("Assign to")
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["assignee"]).queryset = queries.assignable_users(case)


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Comment"), max_length=4000, widget=forms.Textarea(attrs={"rows": 3}), strip=True)


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label=_("Resolution note"),
        help_text=_("What was done for the customer. Recovery is judged by their next experience."),
        max_length=4000,
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
