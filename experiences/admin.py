import io

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _

from integrations.csv_import import COLUMNS, CsvFormatError, import_experiences_csv

from .models import Experience

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class ImportCsvForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 with a header row; columns: %(columns)s. At most 20 MB; larger files: manage.py import_experiences."
        )
        % {"columns": ", ".join(sorted(COLUMNS))},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; use manage.py import_experiences instead."))
        return upload


@admin.register(Experience)
class ExperienceAdmin(admin.ModelAdmin):
    """Read-only: experiences enter through the one write path (form, API, import, surveys)."""

    list_display = ["occurred_at", "customer", "touchpoint", "department", "stage", "valence", "intensity", "source"]
    list_filter = ["valence", "stage", "source", "department", "expectation", "outcome", "touchpoint"]
    search_fields = ["customer__name", "customer__external_id", "external_id", "note"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "touchpoint", "department"]
    raw_id_fields = ["customer", "recorded_by"]
    show_full_result_count = False
    change_list_template = "admin/experiences/experience/change_list_with_import.html"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_csv), name="experiences_experience_import"),
            *super().get_urls(),
        ]

    def import_csv(self, request):
        """Upload a CSV and import it through the one write path; the report lists each rejected line."""
        if not (request.user.is_superuser or getattr(request.user, "is_cx_admin", False)):
            raise PermissionDenied
        form = ImportCsvForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            lines = io.TextIOWrapper(form.cleaned_data["file"].file, encoding="utf-8-sig", newline="")
            try:
                report = import_experiences_csv(lines=lines, recorded_by=request.user)
            except CsvFormatError as exc:
                form.add_error("file", str(exc))
            except UnicodeDecodeError:
                form.add_error("file", _("The file is not UTF-8 text; save it as CSV UTF-8 and upload it again."))
            else:
                messages.success(
                    request,
                    _("%(rows)d rows: %(accepted)d accepted, %(duplicates)d duplicate, %(rejected)d rejected.")
                    % {
                        "rows": report.rows,
                        "accepted": report.accepted,
                        "duplicates": report.duplicates,
                        "rejected": report.rejected,
                    },
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import experiences from CSV"),
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "admin/experiences/experience/import_csv.html", context)
