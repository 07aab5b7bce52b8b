from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.csv_import import COLUMNS, CsvFormatError
from integrations.models import ImportJob
from integrations.services import create_import_job

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
        """Refuse what is too large or not UTF-8 text here; the columns are checked when the job is created."""
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; use manage.py import_experiences instead."))
        try:
            self.cleaned_data["text"] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not UTF-8 text (byte %(byte)d); save it as CSV UTF-8 and upload it again.")
                % {"byte": exc.start}
            ) from exc
        return upload


@admin.register(Experience)
class ExperienceAdmin(admin.ModelAdmin):
    """Read-only: experiences enter through the one write path (form, API, import, surveys)."""

    list_display = [
        "occurred_at",
        "customer",
        "touchpoint",
        "department",
        "stage",
        "valence",
        "intensity",
        "source",
        "written_by",
    ]
    list_filter = ["valence", "stage", "source", "department", "expectation", "outcome", "touchpoint"]
    search_fields = ["customer__name", "customer__external_id", "external_id", "note"]
    date_hierarchy = "occurred_at"
    list_select_related = ["customer", "touchpoint", "department", "recorded_by", "api_key"]
    raw_id_fields = ["customer", "recorded_by", "api_key"]
    show_full_result_count = False
    change_list_template = "admin/experiences/experience/change_list_with_import.html"

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description=_("Written by"))
    def written_by(self, experience: Experience) -> str:
        """The API key or the user who sent it (the CSV import and survey answers name none)."""
        if experience.api_key is not None:
            return gettext("API key %(name)s") % {"name": experience.api_key.name}
        return experience.recorded_by.username if experience.recorded_by is not None else "—"

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        return [
            path("import/", self.admin_site.admin_view(self.import_csv), name="experiences_experience_import"),
            path(
                "import/<int:pk>/",
                self.admin_site.admin_view(self.import_job),
                name="experiences_experience_import_job",
            ),
            path(
                "import/<int:pk>/progress/",
                self.admin_site.admin_view(self.import_job_progress),
                name="experiences_experience_import_progress",
            ),
            *super().get_urls(),
        ]

    def import_csv(self, request):
        """Upload a CSV: it is checked, stored as a job and imported by a worker; the job page follows it."""
        _require_cx_admin(request)
        form = ImportCsvForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = create_import_job(uploaded_by=request.user, file_name=upload.name, text=form.cleaned_data["text"])
            except CsvFormatError as exc:
                form.add_error("file", str(exc))
            else:
                return redirect("admin:experiences_experience_import_job", pk=job.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import experiences from CSV"),
            "form": form,
        }
        return TemplateResponse(request, "admin/experiences/experience/import_csv.html", context)

    def import_job(self, request, pk: int):
        """One import: a progress bar while it runs, then the report with every rejected line."""
        _require_cx_admin(request)
        job = get_object_or_404(ImportJob, pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import of %(file)s") % {"file": job.file_name},
            "job": job,
        }
        return TemplateResponse(request, "admin/experiences/experience/import_job.html", context)

    def import_job_progress(self, request, pk: int):
        """The job page's progress fragment, polled by htmx until the job has finished."""
        _require_cx_admin(request)
        job = get_object_or_404(ImportJob, pk=pk)
        return TemplateResponse(request, "admin/experiences/experience/import_job_progress.html", {"job": job})


def _require_cx_admin(request) -> None:
    if not request.user.is_cx_admin:
        raise PermissionDenied
