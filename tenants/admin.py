"""Platform admin for tenants: every write goes through tenants.services."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join

from saas.admin_sites import platform_site

from .forms import TenantCreateForm
from .models import Domain, Tenant
from .services import tenant_activate, tenant_create, tenant_delete, tenant_suspend, tenant_update


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Tenant, site=platform_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "plan", "status", "rate_limit_per_minute", "created_at"]
    list_filter = ["status", "plan"]
    search_fields = ["slug", "name", "domains__domain"]
    readonly_fields = ["schema_name", "status", "created_at", "updated_at"]
    actions = ["suspend_selected", "activate_selected"]

    def get_form(self, request: HttpRequest, obj: Tenant | None = None, **kwargs: Any) -> type[ModelForm]:
        if obj is None:
            kwargs["form"] = TenantCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        if obj is None:
            return [
                "slug",
                "name",
                "plan",
                "rate_limit_per_minute",
                "owner_email",
                "owner_password",
                "extra_domains",
            ]
        return [
            "slug",
            "name",
            "plan",
            "rate_limit_per_minute",
            "status",
            "schema_name",
            "created_at",
            "updated_at",
            "tenant_data",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        return [*self.readonly_fields, "slug", "tenant_data"] if obj else []

    @admin.display(description="Tenant data")
    def tenant_data(self, obj: Tenant) -> str:
        """Links to the apps' views of this tenant's data (webhook events, audit trail...)."""
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            (
                (reverse(f"{platform_site.name}:{name}", kwargs={"tenant_id": obj.pk}), label)
                for label, name in platform_site.tenant_links
            ),
        )

    def get_inlines(self, request: HttpRequest, obj: Tenant | None = None) -> list[type]:
        return [DomainInline] if obj else []

    def save_model(self, request: HttpRequest, obj: Tenant, form: ModelForm, change: bool) -> None:
        if change:
            tenant_update(
                tenant=obj,
                clear_rate_limit=obj.rate_limit_per_minute is None,
                rate_limit_per_minute=obj.rate_limit_per_minute,
            )
            return
        data = form.cleaned_data
        domains = [d.strip() for d in data.get("extra_domains", "").split(",") if d.strip()]
        created = tenant_create(
            slug=obj.slug,
            name=obj.name,
            plan=obj.plan,
            rate_limit_per_minute=obj.rate_limit_per_minute,
            owner_email=data["owner_email"],
            owner_password=data["owner_password"],
            domains=domains,
        )
        obj.__dict__.update(created.__dict__)

    def delete_model(self, request: HttpRequest, obj: Tenant) -> None:
        tenant_delete(tenant=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            tenant_delete(tenant=tenant)

    @admin.action(description="Suspend selected tenants")
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._apply(request, queryset, tenant_suspend)

    @admin.action(description="Activate selected tenants")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._apply(request, queryset, tenant_activate)

    def _apply(self, request: HttpRequest, queryset: QuerySet[Tenant], service: Any) -> None:
        for tenant in queryset:
            try:
                service(tenant=tenant)
            except ValidationError as exc:
                self.message_user(request, f"{tenant.slug}: {'; '.join(exc.messages)}", messages.ERROR)


@admin.register(Domain, site=platform_site)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "tenant", "is_primary", "created_at"]
    search_fields = ["domain", "tenant__slug"]
    list_select_related = ["tenant"]
