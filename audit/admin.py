"""Read-only audit trails in both admin sites.

Tenant host: that tenant's trail. Platform host: the platform's trail, and each tenant's trail at
`/admin/audit/auditentry/tenant/<slug>/` (linked from the tenant's page), read from its schema.
Nobody can add, change or delete an entry here (and the database refuses it anyway).
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django_tenants.utils import schema_context

from saas.admin_sites import platform_site, tenant_site
from tenants.models import Tenant
from tenants.selectors import tenant_with_schema_get

from .models import AuditEntry
from .services import tenant_trail_read


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actors = AuditEntry.objects.order_by("actor").values_list("actor", flat=True).distinct()[:200]
        return [(actor, actor) for actor in actors]

    def queryset(self, request: HttpRequest, queryset: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        return queryset.filter(actor=self.value()) if self.value() else queryset


class AuditEntryAdmin(admin.ModelAdmin[AuditEntry]):
    list_display = [
        "timestamp",
        "actor",
        "action",
        "event",
        "object_type",
        "object_pk",
        "object_repr",
        "remote_addr",
        "request_id",
    ]
    list_filter = [ActorFilter, "action", "object_type", "event", "timestamp"]
    search_fields = ["actor", "object_pk", "object_repr", "request_id"]
    date_hierarchy = "timestamp"
    fields = (
        "seq",
        "timestamp",
        "actor",
        "actor_email",
        "action",
        "event",
        "object_type",
        "object_pk",
        "object_repr",
        "changes",
        "remote_addr",
        "user_agent",
        "request_id",
        "prev_hash",
        "chain_hash",
    )
    readonly_fields = fields
    actions = None
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TenantTrailAdmin(AuditEntryAdmin):
    """The changelist of one tenant's trail, rendered while its schema is active."""

    list_display_links = None  # an entry's own page would read the public schema


class PlatformAuditEntryAdmin(AuditEntryAdmin):
    def get_urls(self) -> list[URLPattern]:
        tenant_trail = path(
            "tenant/<slug:slug>/",
            self.admin_site.admin_view(self.tenant_trail_view),
            name="audit_auditentry_tenant",
        )
        return [tenant_trail, *super().get_urls()]

    def tenant_trail_view(self, request: HttpRequest, slug: str) -> HttpResponse:
        try:
            tenant = tenant_with_schema_get(slug=slug)
        except Tenant.DoesNotExist:
            raise Http404("No such tenant, or it was purged.") from None
        tenant_trail_read(tenant=tenant, via="admin")
        trail = TenantTrailAdmin(AuditEntry, self.admin_site)
        with schema_context(tenant.schema_name):
            response = trail.changelist_view(
                request, extra_context={"title": f"Audit trail of {tenant.name} ({tenant.slug})"}
            )
            render = getattr(response, "render", None)
            if render is not None:
                render()  # while the tenant's schema is active: the rows are read here
        return response


tenant_site.register(AuditEntry, AuditEntryAdmin)
platform_site.register(AuditEntry, PlatformAuditEntryAdmin)
