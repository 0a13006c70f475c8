"""Sign-in endpoints (contract section 4, login rate limited) and the users API (section 6).

Validate -> call the service -> render: the role rules live in accounts.services.
"""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saas.permissions import IsTenantAdminOrReadOnly
from saas.schema import errors

from .filters import UserFilter
from .models import User
from .selectors import user_get, user_list
from .serializers import (
    LoginSerializer,
    MeSerializer,
    RefreshSerializer,
    TokenPairSerializer,
    UserCreateSerializer,
    UserSerializer,
    UserUpdateSerializer,
)
from .services import (
    auth_login,
    auth_logout,
    auth_refresh,
    user_create,
    user_deactivate,
    user_update,
)


class AnonymousAPIView(APIView):
    """Endpoints that take credentials in the body; failures still answer 401, not 403."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class LoginView(AnonymousAPIView):
    rate_limit_counter = None  # sign-in is counted per IP and per email by the service, nothing else

    @extend_schema(
        summary="Sign in with email and password",
        description="A token pair for the route's tenant (or, on the platform host, for platform staff). "
        "Wrong credentials answer 401, the same whether or not the email exists.",
        operation_id="auth_login",
        request=LoginSerializer,
        responses={
            200: TokenPairSerializer,
            401: errors("not_authenticated"),
            429: errors("rate_limited", description="Sign-in is limited per client IP and per email."),
        },
    )
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = auth_login(request=request._request, tenant=request.tenant, **data.validated_data)
        return Response(tokens)


class RefreshView(AnonymousAPIView):
    @extend_schema(
        summary="Refresh the token pair",
        description="A new access token and a rotated refresh token; the old refresh token is spent.",
        operation_id="auth_refresh",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 401: errors("invalid_token", "token_tenant_mismatch")},
    )
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(auth_refresh(refresh=data.validated_data["refresh"], tenant=request.tenant))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="Sign out",
        description="Both the given refresh token and the access token of this request stop working.",
        operation_id="auth_logout",
        request=RefreshSerializer,
        responses={204: None, 403: errors("permission_denied", description="API keys cannot sign out.")},
    )
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        auth_logout(
            access=request.auth,
            refresh=data.validated_data["refresh"],
            user=request.user,
            tenant=request.tenant,
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        summary="The signed-in user",
        operation_id="auth_me",
        responses={200: MeSerializer, 403: errors("permission_denied", description="An API key is no user.")},
    )
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user, context={"request": request}).data)


class UserViewSet(viewsets.GenericViewSet):
    serializer_class = UserSerializer
    permission_classes = [IsTenantAdminOrReadOnly]
    filterset_class = UserFilter
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[User]:
        return user_list()

    def get_object(self) -> User:
        try:
            return user_get(user_id=int(self.kwargs["pk"]))
        except (User.DoesNotExist, ValueError):
            raise NotFound() from None

    @extend_schema(summary="List users", responses=UserSerializer(many=True))
    def list(self, request: Request) -> Response:
        # Plain rows, not model instances through the serializer: the same JSON (DRF's encoder
        # renders the datetimes as UserSerializer does), at a fraction of the cost per row.
        rows = self.filter_queryset(self.get_queryset()).values(*UserSerializer.Meta.fields)
        return self.get_paginated_response(self.paginate_queryset(rows))

    @extend_schema(summary="Get a user")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Create a user",
        description="Nobody grants a role above their own; only owners make owners.",
        request=UserCreateSerializer,
        responses={201: UserSerializer},
    )
    def create(self, request: Request) -> Response:
        data = UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(actor=request.user, **data.validated_data)
        return Response(self.get_serializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Replace a user",
        request=UserUpdateSerializer,
        responses={200: UserSerializer, 409: errors("conflict", description="The last active owner.")},
    )
    def update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Update a user",
        request=UserUpdateSerializer,
        responses={200: UserSerializer, 409: errors("conflict", description="The last active owner.")},
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        return self._update(request, partial=True)

    def _update(self, request: Request, *, partial: bool) -> Response:
        user = self.get_object()
        data = UserUpdateSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        fields: dict[str, Any] = dict(data.validated_data)
        user = user_update(actor=request.user, user=user, **fields)
        return Response(self.get_serializer(user).data)

    @extend_schema(
        summary="Deactivate a user",
        description="The user can no longer sign in and their tokens stop working; the row stays.",
        responses={204: None, 409: errors("conflict", description="The last active owner.")},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        user_deactivate(actor=request.user, user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
