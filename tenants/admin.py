"""Platform admin for tenants: every write goes through tenants.services, whose checks the forms run."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html

from saas.admin_sites import platform_site

from .forms import TenantChangeForm, TenantCreateForm, split_domains
from .models import Domain, Tenant
from .services import tenant_activate, tenant_create, tenant_delete, tenant_suspend, tenant_update

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups


class DomainInline(admin.TabularInline[Domain, Tenant]):
    """The tenant's domains, read only: they change through the form's "Custom domains" field."""

    model = Domain
    extra = 0
    fields = ("domain", "is_primary", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Tenant, site=platform_site)
class TenantAdmin(admin.ModelAdmin[Tenant]):
    list_display = ["slug", "name", "plan", "status", "rate_limit_per_minute", "created_at"]
    list_filter = ["status", "plan"]
    search_fields = ["slug", "name", "domains__domain"]
    readonly_fields = ["schema_name", "status", "purged_at", "created_at", "updated_at", "audit_trail"]
    actions = ["suspend_selected", "activate_selected"]

    def get_form(
        self, request: HttpRequest, obj: Tenant | None = None, change: bool = False, **kwargs: Any
    ) -> type[ModelForm[Tenant]]:
        kwargs["form"] = TenantCreateForm if obj is None else TenantChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Tenant | None = None) -> "_FieldGroups":
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
            "custom_domains",
            "status",
            "purged_at",
            "schema_name",
            "tenant_data",
            "created_at",
            "updated_at",
            "audit_trail",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        return [*self.readonly_fields, "slug", "tenant_data"] if obj else []

    @admin.display(description="Audit trail")
    def audit_trail(self, obj: Tenant) -> str:
        if obj.is_purged:
            return _purged_note(obj)
        url = reverse("platform_admin:audit_auditentry_tenant", args=[obj.slug])
        return format_html('<a href="{}">Open the audit trail of {}</a>', url, obj.slug)

    @admin.display(description="Tenant data")
    def tenant_data(self, obj: Tenant) -> str:
        """Links to the apps' platform views of this tenant's data (see PlatformAdminSite.register_view)."""
        if obj.is_purged:
            return _purged_note(obj)
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse(f"{platform_site.name}:{name}", kwargs={"tenant_id": obj.pk}),
                label,
            )
            for label, name in platform_site.tenant_links
        ]
        return format_html(" · ".join(["{}"] * len(links)), *links) if links else ""

    def get_inlines(self, request: HttpRequest, obj: Tenant | None = None) -> list[type]:
        return [DomainInline] if obj else []

    def save_model(self, request: HttpRequest, obj: Tenant, form: ModelForm[Tenant], change: bool) -> None:
        data = form.cleaned_data
        if change:
            tenant_update(
                tenant=obj,
                name=obj.name,
                plan=obj.plan,
                clear_rate_limit=obj.rate_limit_per_minute is None,
                rate_limit_per_minute=obj.rate_limit_per_minute,
                domains=split_domains(data.get("custom_domains", "")),
            )
            return
        created = tenant_create(
            slug=obj.slug,
            name=obj.name,
            plan=obj.plan,
            rate_limit_per_minute=obj.rate_limit_per_minute,
            owner_email=data["owner_email"],
            owner_password=data["owner_password"],
            domains=split_domains(data.get("extra_domains", "")),
        )
        # The admin logs and redirects to the form's instance: make it the row the service created.
        obj.pk = created.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Tenant) -> None:
        tenant_delete(tenant=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            tenant_delete(tenant=tenant)

    @admin.action(description="Suspend selected tenants")
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._apply(request, queryset, tenant_suspend, "Suspended")

    @admin.action(description="Activate selected tenants")
    def activate_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._apply(request, queryset, tenant_activate, "Activated")

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Tenant], service: Callable[..., Tenant], done: str
    ) -> None:
        changed: list[str] = []
        for tenant in queryset:
            try:
                service(tenant=tenant)
            except ValidationError as exc:
                self.message_user(request, f"{tenant.slug}: {'; '.join(exc.messages)}", messages.ERROR)
            else:
                changed.append(tenant.slug)
        if changed:
            self.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)


def _purged_note(tenant: Tenant) -> str:
    when = date_format(tenant.purged_at, "DATETIME_FORMAT") if tenant.purged_at else ""
    return format_html("Purged on {}: its schema and data are gone.", when)


@admin.register(Domain, site=platform_site)
class DomainAdmin(admin.ModelAdmin[Domain]):
    """Every tenant's domains, to look up; they change on the tenant's page (through tenant_update)."""

    list_display = ["domain", "tenant", "is_primary", "created_at"]
    search_fields = ["domain", "tenant__slug"]
    list_select_related = ["tenant"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
