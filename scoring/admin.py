from django.contrib import admin

from .models import CustomerScore


@admin.register(CustomerScore)
class CustomerScoreAdmin(admin.ModelAdmin):
    list_display = ["customer", "index", "balance", "recovery_debt", "negatives", "scored_at"]
    search_fields = ["customer__name", "customer__external_id"]
    list_select_related = ["customer"]
    ordering = ["-recovery_debt"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
