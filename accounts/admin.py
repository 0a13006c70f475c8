"""Platform staff in the platform admin (public schema)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from saas.admin_sites import platform_site

from .models import Role, User


@admin.register(User, site=platform_site)
class PlatformStaffAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "is_active", "created_at"]
    search_fields = ["email", "first_name", "last_name"]
    fields = ["email", "first_name", "last_name", "is_active", "created_at", "last_login"]
    readonly_fields = ["email", "created_at", "last_login"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).filter(role=Role.PLATFORM_ADMIN)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # staff are made with `createsuperuser`, which sets a hashed password
