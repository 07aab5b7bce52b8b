from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active", "departments"]
    filter_horizontal = ["departments", "groups", "user_permissions"]
    fieldsets = [
        *(BaseUserAdmin.fieldsets or ()),
        (_("CXM role"), {"fields": ["role", "departments"]}),
    ]
    add_fieldsets = [
        *BaseUserAdmin.add_fieldsets,
        (_("CXM role"), {"fields": ["role", "departments"]}),
    ]
