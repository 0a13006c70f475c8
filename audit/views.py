"""`GET /api/v1/audit/events`: a tenant's trail on tenant routes (owners, admins), the platform's
trail on platform routes (platform admins), or with `?tenant=SLUG` that tenant's trail (audited)."""

from contextlib import nullcontext

from django_tenants.utils import schema_context
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from saas.errors import ApplicationError
from saas.permissions import IsPlatformAdmin, IsTenantAdmin
from saas.typing import request_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_with_schema_get

from .models import AuditEntry
from .selectors import entry_list
from .serializers import AuditEntrySerializer, AuditFilterSerializer
from .services import tenant_trail_read


def _tenant_for(slug: str) -> Tenant:
    try:
        return tenant_with_schema_get(slug=slug)
    except Tenant.DoesNotExist:
        raise ApplicationError("No such tenant.", code="tenant_not_found", status_code=404) from None


class AuditEventListView(ListAPIView[AuditEntry]):
    serializer_class = AuditEntrySerializer
    permission_classes = [IsTenantAdmin | IsPlatformAdmin]
    filter_backends: list[type] = []

    @extend_schema(
        summary="List audit events",
        description="The trail of the route's tenant, or on the platform host the platform's own.",
        parameters=[
            AuditFilterSerializer,
            OpenApiParameter(
                "tenant",
                str,
                description="Platform host only: read this tenant's trail instead (the reading is audited).",
                extensions={"x-platform-only": True},
            ),
        ],
        responses=AuditEntrySerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        data = AuditFilterSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        filters = dict(data.validated_data)
        slug = filters.pop("tenant", None)
        schema = None
        if slug and request_tenant(request) is None:  # on a tenant route the route's tenant is the only one
            tenant = _tenant_for(slug)
            tenant_trail_read(tenant=tenant, via="api", query=dict(request.query_params.items()))
            schema = tenant.schema_name
        with schema_context(schema) if schema else nullcontext():
            page = self.paginate_queryset(entry_list(**filters))
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
