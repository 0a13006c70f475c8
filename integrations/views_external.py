"""Integration health: the tenant's own (`/api/v1/webhooks/health`) and every tenant's for staff."""

from django_tenants.utils import schema_context
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saas.permissions import IsPlatformAdmin, IsTenantAdmin
from saas.typing import connection
from tenants.models import TenantStatus
from tenants.selectors import tenant_with_schema_list

from .health import service_health


class HealthView(APIView):
    """`GET /api/v1/webhooks/health` (admins and owners of the tenant)."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(
        summary="Health of the tenant's integrations",
        operation_id="webhooks_health",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        return Response({"services": service_health()})


class PlatformHealthView(APIView):
    """`GET /api/v1/integrations/health` on the platform host: every active tenant's health."""

    permission_classes = [IsPlatformAdmin]

    @extend_schema(
        summary="Health of every tenant's integrations",
        operation_id="integrations_health",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request) -> Response:
        tenants = []
        for tenant in tenant_with_schema_list().exclude(status=TenantStatus.DELETED):
            with schema_context(tenant.schema_name):
                tenants.append({"slug": tenant.slug, "name": tenant.name, "services": service_health()})
        connection.set_schema_to_public()
        return Response({"tenants": tenants})
