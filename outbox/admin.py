from django.contrib import admin

from .models import OutboxTask


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    """Read-only: a row names a function to call, so only the write path may create or change one."""

    list_display = ["id", "handler", "due_at", "attempts", "created_at"]
    list_filter = ["handler"]
    readonly_fields = ["handler", "kwargs", "due_at", "attempts", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
