from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _

from .forms import UserAddForm, UserEditForm, UsersCsvForm
from .models import User
from .services import import_users, parse_users_csv, save_user


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """People, one by one or from a CSV: both saved by accounts.services.save_user, like SSO."""

    form = UserEditForm
    add_form = UserAddForm
    list_display = ["username", "email", "role", "language", "is_active", "last_login"]
    list_filter = ["role", "is_active", "departments"]
    filter_horizontal = ["departments", "groups", "user_permissions"]
    # Facts, not settings. Editable, they would also be posted back in the company's local time, which
    # Django refuses for the hour that repeats when the clocks go back: such a person could not be saved.
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = [
        *(BaseUserAdmin.fieldsets or ()),
        (_("CXM role"), {"fields": ["role", "departments", "language"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("CXM role"), {"fields": ["email", "role", "departments", "language"]}),
    ]
    change_list_template = "admin/accounts/user/change_list_with_import.html"

    def save_model(self, request, obj, form, change) -> None:
        """`obj` carries the form's password and staff flags; the service saves it with role and departments."""
        save_user(row=form.user_row(), user=obj)
        form.cleaned_data.pop("departments", None)  # set by the service; save_m2m keeps groups and permissions

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_csv), name="accounts_user_import"),
            *super().get_urls(),
        ]

    def import_csv(self, request):
        """Bulk import of people with their roles and departments: every line is saved, or none."""
        if not request.user.is_cx_admin:
            raise PermissionDenied
        form = UsersCsvForm(request.POST or None, request.FILES or None)
        errors = {}
        if request.method == "POST" and form.is_valid():
            try:
                report = import_users(rows=parse_users_csv(form.cleaned_data["text"]))
            except ValidationError as error:
                form.add_error("file", error)
            else:
                errors = report.errors
                if not errors:
                    self.message_user(
                        request,
                        _t("Imported: %(created)d new users, %(updated)d updated.")
                        % {"created": report.created, "updated": report.updated},
                        messages.SUCCESS,
                    )
                    return redirect("admin:accounts_user_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import users from CSV"),
            "form": form,
            "line_errors": sorted(errors.items()),
        }
        return TemplateResponse(request, "admin/accounts/user/import_csv.html", context, status=400 if errors else 200)


class TOTPDeviceAdmin(admin.ModelAdmin):
    """Authenticator apps people set up: an admin can see them and remove a lost phone's, never read a key."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "confirmed", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
