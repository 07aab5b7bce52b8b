from django.contrib import admin

from privacy.admin import export_customer_data

from .models import Customer
from .services import save_customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "email", "segment", "relationship_level", "created_at"]
    list_filter = ["relationship_level", "segment", "language", "surveys_opt_out"]
    search_fields = ["name", "external_id", "email"]
    readonly_fields = ["created_at"]
    actions = [export_customer_data]

    def save_model(self, request, obj: Customer, form, change: bool) -> None:
        """Through the service, so that a new segment re-rolls the daily figures."""
        save_customer(customer=obj)
