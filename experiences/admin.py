from django.contrib import admin

from .models import Experience


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

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
