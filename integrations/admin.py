"""Admin: the tenant's integrations and webhook events on its own host; each tenant's events on the
platform host (a staff page reading that tenant's schema). Writes go through integrations.services."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django_tenants.utils import schema_context

from saas.admin_sites import platform_site, tenant_site
from tenants.models import Tenant
from tenants.selectors import tenant_with_schema_get

from .models import EventStatus, IntegrationSettings, Service, WebhookEvent
from .selectors import event_list
from .services import (
    REPLAYABLE,
    events_replay,
    events_replay_ids,
    integration_settings_may_manage,
    integration_settings_update,
)


class IntegrationSettingsForm(forms.ModelForm[IntegrationSettings]):
    base_url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write only. Leave empty to keep the stored key.",
    )

    class Meta:
        model = IntegrationSettings
        fields = ["enabled", "base_url"]


@admin.register(IntegrationSettings, site=tenant_site)
class IntegrationSettingsAdmin(admin.ModelAdmin[IntegrationSettings]):
    form = IntegrationSettingsForm
    list_display = ["service", "enabled", "base_url", "has_api_key", "updated_at"]
    readonly_fields = ["service", "previous_secret_expires_at", "updated_at"]
    fields = ["service", "enabled", "base_url", "api_key", "previous_secret_expires_at", "updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created with a secret through the API (GET/PUT /api/v1/integrations/<service>/)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Shown read-only when the service's settings are the platform's (payment-service).
        if obj is not None and not integration_settings_may_manage(actor=request.user, service=obj.service):
            return False
        return super().has_change_permission(request, obj)

    def save_model(
        self,
        request: HttpRequest,
        obj: IntegrationSettings,
        form: forms.ModelForm[IntegrationSettings],
        change: bool,
    ) -> None:
        integration_settings_update(
            service=obj.service,
            enabled=obj.enabled,
            base_url=obj.base_url,
            api_key=form.cleaned_data.get("api_key") or None,
            actor=request.user,
        )


def _actor(request: HttpRequest) -> Any:
    return request.user


@admin.register(WebhookEvent, site=tenant_site)
class WebhookEventAdmin(admin.ModelAdmin[WebhookEvent]):
    list_display = ["event_id", "service", "type", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "service", "type"]
    search_fields = ["event_id", "type"]
    date_hierarchy = "received_at"
    actions = ["replay_selected"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]
    show_full_result_count = False  # no COUNT(*) over a large table on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the event row is the record of what a service sent: replay it, never delete it

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return tenant_site.has_permission(request)

    @admin.action(description="Replay selected events")
    def replay_selected(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        count = events_replay_ids(ids=list(queryset.values_list("id", flat=True)), actor=_actor(request))
        self.message_user(request, f"{count} event(s) requeued.", messages.SUCCESS)


def tenant_events_view(request: HttpRequest, tenant_id: int) -> HttpResponse:
    """Platform staff: one tenant's webhook events (filter by status/service), with replay.

    "Replay all" is a two-step POST: the first answers a confirmation page with the count, the
    second (with `confirm`) replays. A tenant without a schema (purged) is a 404.
    """
    try:
        tenant = tenant_with_schema_get(pk=tenant_id)
    except Tenant.DoesNotExist:
        raise Http404("No such tenant, or it was purged.") from None
    actor = f"platform:{getattr(request.user, 'email', '')}"
    status = request.GET.get("status") or ""
    service = request.GET.get("service") or ""
    context = {**platform_site.each_context(request), "tenant": tenant, "status": status, "service": service}
    with schema_context(tenant.schema_name):
        if request.method == "POST":
            replay_all = request.POST.get("replay_all")
            if replay_all in REPLAYABLE and not request.POST.get("confirm"):
                count = event_list(status=replay_all, service=service or None).count()
                title = f"Replay all {replay_all} events of {tenant.slug}?"
                confirm = {**context, "title": title, "replay_all": replay_all, "count": count}
                return TemplateResponse(request, "admin/integrations/tenant_events_confirm.html", confirm)
            if replay_all in REPLAYABLE:
                count = events_replay(status=replay_all, service=service or None, actor=actor)
            else:
                ids = [int(i) for i in request.POST.getlist("event") if i.isdigit()]
                count = events_replay_ids(ids=ids, actor=actor)
            messages.success(request, f"{count} event(s) of {tenant.slug} requeued.")
            return HttpResponseRedirect(request.get_full_path())
        page = Paginator(event_list(status=status, service=service), 50).get_page(request.GET.get("page"))
        rows = list(page.object_list)
    context |= {
        "title": f"Webhook events of {tenant.slug}",
        "page": page,
        "events": rows,
        "statuses": EventStatus.values,
        "services": Service.values,
        "replayable": REPLAYABLE,
    }
    return TemplateResponse(request, "admin/integrations/tenant_events.html", context)


platform_site.register_view(
    "tenants/<int:tenant_id>/webhook-events/",
    tenant_events_view,
    "tenant-webhook-events",
    tenant_link="Webhook events",
)
