from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext as _

from .models import Department, Touchpoint, TouchpointOwner


class OwnersFormSet(BaseInlineFormSet):
    """A touchpoint has exactly one primary owning department (the database allows at most one)."""

    def clean(self) -> None:
        super().clean()
        rows = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        primaries = sum(1 for row in rows if row.get("primary"))
        if rows and primaries != 1:
            raise ValidationError(_("Mark exactly one owning department as primary (%(n)d marked).") % {"n": primaries})
        if not rows:
            raise ValidationError(_("A touchpoint needs at least one owning department."))


class OwnerInline(admin.TabularInline):
    model = TouchpointOwner
    formset = OwnersFormSet
    extra = 1
    autocomplete_fields = ["department"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "active"]
    list_filter = ["active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "stage", "channel", "primary_department", "active"]
    list_filter = ["stage", "channel", "active", "departments"]
    search_fields = ["name", "code", "description"]
    prepopulated_fields = {"code": ["name"]}
    inlines = [OwnerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("owners__department")

    @admin.display(description=_("Primary department"))
    def primary_department(self, obj: Touchpoint) -> str:
        return next((str(o.department) for o in obj.owners.all() if o.primary), "—")
