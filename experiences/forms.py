"""The staff logging form: turns what a clerk typed into one item for `record_experiences`."""

from __future__ import annotations

import uuid
from functools import cached_property
from typing import Any, cast

from django import forms
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from customers.models import NAME_MAX_LENGTH
from touchpoints.models import Touchpoint

from .models import Emotion, Expectation, Outcome
from .queries import VALENCE_NAMES, find_customer, loggable_touchpoints
from .services import MAX_NOTE_LENGTH, is_active_touchpoint

VALENCE_CHOICES = [("positive", _("Positive")), ("neutral", _("Neutral")), ("negative", _("Negative"))]
INTENSITY_CHOICES = [(n, str(n)) for n in range(1, 6)]
NEW_CUSTOMER_FIELDS = ("new_customer_name", "new_customer_email")


def touchpoint_label(touchpoint) -> str:
    """The name and the first line of the description, so the moment can be told from its neighbours."""
    summary = touchpoint.description.strip().splitlines()[0] if touchpoint.description.strip() else ""
    return f"{touchpoint.name} — {summary}" if summary else touchpoint.name


class TouchpointChoiceField(forms.ChoiceField):
    """One of the active touchpoints, checked against the write path's catalogue kept in memory, so a
    form sent valid never reads the grouped list it shows (`ExperienceForm.touchpoint_choices`)."""

    def valid_value(self, value: str) -> bool:
        return is_active_touchpoint(value)


class ExperienceForm(forms.Form):
    customer = forms.CharField(
        label=_("Customer"),
        max_length=200,
        error_messages={"required": _("Type the customer's name, e-mail or customer number.")},
        help_text=_("Type a name, e-mail or customer number and pick from the suggestions."),
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autofocus": True,
                "list": "customer-options",
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#customer-options",
                "hx-swap": "outerHTML",
                "hx-sync": "this:replace",
            }
        ),
    )
    new_customer_name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH, required=False)
    new_customer_email = forms.EmailField(label=_("E-mail (optional)"), required=False)
    touchpoint = TouchpointChoiceField(
        label=_("Touchpoint"),
        error_messages={
            "required": _("Choose the touchpoint where it happened."),
            "invalid_choice": _("Choose one of the active touchpoints in the list."),
        },
    )
    valence = forms.ChoiceField(
        label=_("How did the customer feel?"),
        choices=VALENCE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose positive, neutral or negative.")},
    )
    intensity = forms.TypedChoiceField(
        label=_("Intensity"),
        choices=INTENSITY_CHOICES,
        coerce=int,
        initial=3,
        widget=forms.RadioSelect,
        help_text=_("1 = barely noticed, 3 = clearly felt, 5 = unforgettable."),
    )
    emotion = forms.ChoiceField(label=_("Emotion"), choices=[("", _("Not noted")), *Emotion.choices], required=False)
    expectation = forms.ChoiceField(
        label=_("Expectation"),
        choices=[("", _("Not known")), *Expectation.choices],
        widget=forms.RadioSelect,
        required=False,
        initial="",
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("", _("Not known")), *Outcome.choices],
        widget=forms.RadioSelect,
        required=False,
        initial="",
        help_text=_("The tangible side: was the thing itself done right?"),
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=MAX_NOTE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    submission = forms.RegexField(
        regex=r"^[0-9a-f]{32}$",
        required=False,
        widget=forms.HiddenInput,
        help_text=_("A one-time token: sending the same page twice logs the experience once."),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["submission"] = uuid.uuid4().hex
        self.user = user
        self.customer_ref: str | dict[str, str] | None = None
        self.fields["customer"].widget.attrs["hx-get"] = reverse("customer-search")
        cast(forms.ChoiceField, self.fields["touchpoint"]).choices = self.touchpoint_choices  # read when shown

    @cached_property
    def touchpoints(self) -> dict[str, Touchpoint]:
        """The touchpoints the form offers, annotated by `loggable_touchpoints`; one query, when shown."""
        return {tp.code: tp for tp in loggable_touchpoints(self.user)}

    def touchpoint_choices(self) -> list:
        """The user's departments' touchpoints first, then the others grouped by the department that answers."""
        groups: dict[str, list[tuple[str, str]]] = {}
        for tp in self.touchpoints.values():
            own, owner_name = tp.own, tp.owner_name  # type: ignore[attr-defined]
            group = gettext("Your departments") if own else owner_name or gettext("No owning department")
            groups.setdefault(group, []).append((tp.code, touchpoint_label(tp)))
        return [("", gettext("Choose a touchpoint…")), *groups.items()]

    def clean(self) -> dict[str, Any]:
        """Resolve the customer: a known number, else a new customer if named, else a unique name or e-mail."""
        super().clean()
        data = self.cleaned_data
        text = data.get("customer")
        if not text:
            return data
        customer, matches = find_customer(text)
        new_name = data.get("new_customer_name")
        if customer is not None and customer.external_id == text.strip():
            self.customer_ref = customer.external_id
        elif new_name:
            self.customer_ref = {"external_id": text.strip(), "name": new_name}
            if data.get("new_customer_email"):
                self.customer_ref["email"] = data["new_customer_email"]
        elif customer is not None:
            self.customer_ref = customer.external_id
        elif matches > 1:
            self.add_error(
                "customer",
                gettext("Several customers are called “%(text)s”: pick one from the suggestions.") % {"text": text},
            )
        else:
            self.add_error(
                "customer",
                gettext(
                    "No customer “%(text)s”. Pick one from the suggestions, or keep their customer number "
                    "here and fill in “New customer” below to create them."
                )
                % {"text": text},
            )
        return data

    def item(self) -> dict[str, Any]:
        """The experience as `record_experiences` takes it; call after `is_valid()`."""
        data = self.cleaned_data
        token = data.get("submission")
        return {  # no department: the write path charges it by the logger's departments (services._charged)
            "id": f"form-{token}" if token else None,
            "customer": self.customer_ref,
            "touchpoint": data["touchpoint"],
            "valence": data["valence"],
            "intensity": data["intensity"],
            "emotion": data["emotion"],
            "expectation": data["expectation"],
            "outcome": data["outcome"],
            "note": data["note"],
        }

    def renew_submission(self) -> None:
        """A fresh one-time token, so that the next send logs a new experience."""
        data = self.data.copy()  # type: ignore[attr-defined]  # the POST QueryDict
        data["submission"] = uuid.uuid4().hex
        self.data = data

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show the write service's field errors next to the fields the user can change."""
        for name, messages in errors.items():
            if name == "touchpoint":  # retired since this process read the catalogue: the form's words, not the API's
                messages = [str(self.fields["touchpoint"].error_messages["invalid_choice"])]
            field = "touchpoint" if name == "department" else name
            self.add_error(field if field in self.fields else None, messages)
        self._focus_first_error()

    @property
    def new_customer_open(self) -> bool:
        """Unfold "New customer" when it holds input or errors, so nothing typed is hidden."""
        return any(self[name].value() or self.errors.get(name) for name in NEW_CUSTOMER_FIELDS)

    def full_clean(self) -> None:
        super().full_clean()
        self._focus_first_error()

    def _focus_first_error(self) -> None:
        """Put the cursor where the first thing to fix is, instead of the customer field."""
        first = next((name for name in self.fields if name in self.errors), None)
        if first is None:
            return
        for field in self.fields.values():
            field.widget.attrs.pop("autofocus", None)
        self.fields[first].widget.attrs["autofocus"] = True


class CorrectionForm(ExperienceForm):
    """The logging form without the customer: a wrong customer is voided and logged again."""

    def __init__(self, *args: Any, user: User, experience, **kwargs: Any) -> None:
        initial = {
            "touchpoint": experience.touchpoint.code,
            "valence": VALENCE_NAMES[experience.valence],
            "intensity": str(experience.intensity),
            "emotion": experience.emotion,
            "expectation": experience.expectation,
            "outcome": experience.outcome,
            "note": experience.note,
        }
        super().__init__(*args, user=user, initial=initial, **kwargs)
        for name in ("customer", *NEW_CUSTOMER_FIELDS):
            del self.fields[name]
        self.customer_ref = experience.customer.external_id

    def changes(self) -> dict[str, Any]:
        """The fields as `correct_experience` takes them; call after `is_valid()`."""
        item = self.item()
        item.pop("customer")
        return item
