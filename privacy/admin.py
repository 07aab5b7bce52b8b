"""The audit log (read-only) and the admin action that exports customers' data as JSON."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from .models import AuditEntry
from .services import export_customer


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "subject", "actor_label", "via"]
    list_filter = ["action", "via"]
    search_fields = ["subject", "actor_label"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.action(description=_("Export everything held about the selected customers (JSON)"))
def export_customer_data(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset) -> HttpResponse:
    """One JSON document per customer, joined in a JSON array; each export is audited."""
    parts = [
        export_customer(customer=c, actor=request.user, actor_label=request.user.get_username(), via="admin")
        for c in queryset.order_by("external_id")
    ]
    response = HttpResponse("[\n" + ",\n".join(parts) + "\n]", content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customer-data.json"'
    return response
