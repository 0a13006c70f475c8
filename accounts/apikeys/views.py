"""`/api/v1/api-keys/` (owners and admins): list, create (the key shown once), revoke."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from saas.permissions import IsTenantAdmin

from .models import ApiKey
from .selectors import api_key_get, api_key_list
from .serializers import ApiKeyCreatedSerializer, ApiKeyCreateSerializer, ApiKeySerializer
from .services import api_key_create, api_key_revoke


@extend_schema_view(
    list=extend_schema(summary="List the tenant's API keys", operation_id="api_keys_list"),
    create=extend_schema(
        summary="Create an API key",
        description="The answer holds the key itself, shown this once: only its digest is stored.",
        operation_id="api_keys_create",
        request=ApiKeyCreateSerializer,
        responses={201: ApiKeyCreatedSerializer},
    ),
    destroy=extend_schema(
        summary="Revoke an API key",
        description="Requests with the key are refused from the next one on.",
        operation_id="api_keys_revoke",
        responses={204: None},
    ),
)
class ApiKeyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet[ApiKey]):
    serializer_class = ApiKeySerializer
    permission_classes = [IsTenantAdmin]
    lookup_value_regex = "[0-9]{1,18}"
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[ApiKey]:
        return api_key_list()

    def create(self, request: Request) -> Response:
        data = ApiKeyCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row, key = api_key_create(actor=request.user, **data.validated_data)
        row.key = key  # type: ignore[attr-defined]  # rendered once, never stored
        return Response(ApiKeyCreatedSerializer(row).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        try:
            key = api_key_get(key_id=int(pk))
        except (ApiKey.DoesNotExist, ValueError):
            raise NotFound() from None
        api_key_revoke(key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)
