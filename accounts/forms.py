from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from .services import UserRow, check_user_row, email_owners


class CodeForm(forms.Form):
    """The six digits an authenticator app shows; spaces typed between them are ignored."""

    code = forms.CharField(
        label=_("Code from your authenticator app"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].replace(" ", "")
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("Type the six digits your app shows, e.g. 123456."))
        return code


class UsersCsvForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 with a header row; columns: username, email, first_name, last_name, role (staff, manager or "
            "admin), departments (department codes separated by spaces), language (en or es). At most 2 MB."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 2 * 1024 * 1024:
            raise forms.ValidationError(_("The file is larger than 2 MB; split it into smaller files."))
        try:
            self.cleaned_data["text"] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(
                _("The file is not UTF-8 text; save it as “CSV UTF-8” and try again.")
            ) from None
        return upload


class ProfileForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("The browser's language")), *settings.LANGUAGES],
        required=False,
        help_text=_("Pages, e-mails and messages of CXM, with dates and amounts written the same way."),
    )


class SavedByService:
    """The admin's user forms: a person added or changed by hand meets the rules of `save_user`.

    The form checks the row the service will be given, so a refusal shows on the form; the
    admin then saves through `save_user` (accounts/admin.py), like the CSV import and SSO.
    """

    cleaned_data: dict[str, Any]
    instance: Any

    def user_row(self) -> UserRow:
        data = self.cleaned_data
        chosen = data.get("departments")
        return UserRow(
            username=data.get("username") or self.instance.username,
            email=data.get("email") or "",
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            role=data.get("role"),
            department_codes=[department.code for department in chosen] if chosen is not None else None,
            language=data.get("language"),
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # type: ignore[misc]
        if not self.errors:  # type: ignore[attr-defined]
            row = self.user_row()
            departments = {department.code: department for department in cleaned.get("departments") or []}
            for problem in check_user_row(row, departments, email_owners([row.email]), self.instance.pk):
                self.add_error(None, problem)  # type: ignore[attr-defined]
        return cleaned


class UserAddForm(SavedByService, AdminUserCreationForm):
    pass


class UserEditForm(SavedByService, UserChangeForm):
    pass
