from django.contrib import admin

from .models import OutboxTask


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    list_display = ["id", "handler", "due_at", "attempts", "created_at"]
    list_filter = ["handler"]
    readonly_fields = ["handler", "kwargs", "due_at", "attempts", "created_at"]
