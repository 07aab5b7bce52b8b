from django.contrib import admin

from .models import Journey, JourneyStep


class StepInline(admin.TabularInline):
    model = JourneyStep
    extra = 1
    ordering = ["position"]
    autocomplete_fields = ["touchpoint"]


@admin.register(Journey)
class JourneyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StepInline]
