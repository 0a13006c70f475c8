"""Platform API for tenants (contract section 5): platform admins only."""

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from saas.permissions import IsPlatformAdmin
from saas.schema import errors

from .filters import TenantFilter
from .models import Tenant
from .selectors import tenant_get, tenant_list
from .serializers import TenantCreateSerializer, TenantSerializer, TenantUpdateSerializer
from .services import tenant_activate, tenant_create, tenant_delete, tenant_suspend, tenant_update


class TenantViewSet(viewsets.GenericViewSet[Tenant]):
    serializer_class = TenantSerializer
    permission_classes = [IsPlatformAdmin]
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    filterset_class = TenantFilter

    def get_queryset(self) -> QuerySet[Tenant]:
        return tenant_list()

    def get_object(self) -> Tenant:
        try:
            return tenant_get(slug=self.kwargs["slug"])
        except Tenant.DoesNotExist:
            raise NotFound() from None

    @extend_schema(summary="List tenants")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Get a tenant")
    def retrieve(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Create a tenant",
        description="The schema, the `<slug>.<SAAS_BASE_DOMAIN>` domain and the owner exist when it answers.",
        request=TenantCreateSerializer,
        responses={
            201: TenantSerializer,
            503: errors("template_behind", description="Run `migrate_schemas` first."),
        },
    )
    def create(self, request: Request) -> Response:
        data = TenantCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        owner = fields.pop("owner")
        tenant = tenant_create(owner_email=owner["email"], owner_password=owner["password"], **fields)
        return Response(self.get_serializer(tenant).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Replace a tenant", request=TenantUpdateSerializer, responses=TenantSerializer)
    def update(self, request: Request, slug: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(summary="Update a tenant", request=TenantUpdateSerializer, responses=TenantSerializer)
    def partial_update(self, request: Request, slug: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        tenant = self.get_object()
        data = TenantUpdateSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        clear = "rate_limit_per_minute" in fields and fields["rate_limit_per_minute"] is None
        tenant = tenant_update(tenant=tenant, clear_rate_limit=clear, **fields)
        return Response(self.get_serializer(tenant).data)

    @extend_schema(
        summary="Delete a tenant",
        description="Its status becomes `deleted` and routing stops; `?purge=true` also drops its schema.",
        parameters=[OpenApiParameter("purge", bool, description="Also drop the tenant's schema.")],
        responses={204: None},
    )
    def destroy(self, request: Request, slug: str) -> Response:
        purge = request.query_params.get("purge", "").lower() in {"1", "true", "yes"}
        tenant_delete(tenant=self.get_object(), purge=purge)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Suspend a tenant", operation_id="tenants_suspend", request=None, responses=TenantSerializer
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(tenant_suspend(tenant=self.get_object())).data)

    @extend_schema(
        summary="Activate a tenant", operation_id="tenants_activate", request=None, responses=TenantSerializer
    )
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(tenant_activate(tenant=self.get_object())).data)
