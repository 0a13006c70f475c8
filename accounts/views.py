"""Sign-in endpoints (login rate limited), the users API, passwords and invitations.

Validate -> call the service -> render: the role rules live in accounts.services.
"""

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from saas.permissions import IsTenantAdmin, IsTenantAdminOrReadOnly
from saas.schema import errors
from saas.typing import request_tenant, request_user, routed_tenant

from .filters import InvitationFilter, UserFilter
from .models import Invitation, User
from .selectors import invitation_get, invitation_list, user_get, user_list, user_rows
from .serializers import (
    InvitationAcceptSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    LoginSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    PasswordResetAcceptedSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
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
    invitation_accept,
    invitation_create,
    invitation_revoke,
    password_change,
    password_reset_confirm,
    password_reset_request,
    user_create,
    user_deactivate,
    user_update,
)
from .tokens import token_pair


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
        tokens = auth_login(request=request._request, tenant=request_tenant(request), **data.validated_data)
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
        return Response(auth_refresh(refresh=data.validated_data["refresh"], tenant=request_tenant(request)))


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
            access=cast(AccessToken, request.auth),  # API keys are refused on /auth/: a JWT's
            refresh=data.validated_data["refresh"],
            user=request_user(request),
            tenant=request_tenant(request),
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
        return Response(MeSerializer(request_user(request), context={"request": request}).data)


class UserViewSet(viewsets.GenericViewSet[User]):
    serializer_class = UserSerializer
    permission_classes = [IsTenantAdminOrReadOnly]
    filterset_class = UserFilter
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[User]:
        return user_list()

    def filter_queryset(self, queryset: QuerySet[User, Any]) -> QuerySet[User, Any]:
        # No filter named in the query: the FilterSet would only build and validate an empty form.
        if not self._filtered():
            return queryset
        return super().filter_queryset(queryset)

    def _filtered(self) -> bool:
        return any(name in self.request.query_params for name in UserFilter.base_filters)

    def get_object(self) -> User:
        try:
            return user_get(user_id=int(self.kwargs["pk"]))
        except (User.DoesNotExist, ValueError):
            raise NotFound() from None

    @extend_schema(summary="List users", responses=UserSerializer(many=True))
    def list(self, request: Request) -> Response:
        # Plain rows, not model instances through the serializer: the same JSON (DRF's encoder
        # renders the datetimes as UserSerializer does), at a fraction of the cost per row; each
        # page with its count in one statement (the pagination takes them for a queryset).
        fields = UserSerializer.Meta.fields
        users = self.filter_queryset(self.get_queryset()) if self._filtered() else None
        rows: Any = user_rows(fields=fields, users=users)
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
        user = user_create(actor=request_user(request), **data.validated_data)
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
        user = user_update(actor=request_user(request), user=user, **fields)
        return Response(self.get_serializer(user).data)

    @extend_schema(
        summary="Deactivate a user",
        description="The user can no longer sign in and their tokens stop working; the row stays.",
        responses={204: None, 409: errors("conflict", description="The last active owner.")},
    )
    def destroy(self, request: Request, pk: str) -> Response:
        user_deactivate(actor=request_user(request), user=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


# ---- Passwords and invitations ----

RESET_REQUESTED = "If an account uses this email, a message with a link to reset its password is on its way."


class PasswordResetView(AnonymousAPIView):
    rate_limit_counter = None  # counted per IP and per email by the service, like a sign-in

    @extend_schema(
        request=PasswordResetRequestSerializer,
        responses={202: PasswordResetAcceptedSerializer},
        summary="Ask for a password reset mail",
        description="Always 202, whether or not the email has an account; the mail links to "
        "`/password/reset/<token>/` on the tenant's host (one use, 1 hour).",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_request(request=request._request, tenant=routed_tenant(request), **data.validated_data)
        return Response({"message": RESET_REQUESTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(AnonymousAPIView):
    rate_limit_counter = None  # counted per IP by the service, like a sign-in

    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={204: None},
        summary="Set a new password with a reset token",
        description="Ends every session of the user. A bad, used or expired token: 400 `invalid_token`.",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_reset_confirm(request=request._request, tenant=routed_tenant(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={204: None},
        summary="Change one's own password",
        description="Every session of the user ends, this one included: sign in again with the new password.",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        password_change(request=request._request, user=request_user(request), **data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptView(AnonymousAPIView):
    rate_limit_counter = None  # counted per IP by the service, like a sign-in

    @extend_schema(
        request=InvitationAcceptSerializer,
        responses={201: TokenPairSerializer},
        summary="Accept an invitation",
        description="Creates the invited user with the invited email and role and signs them in. "
        "A bad, used, revoked or expired token: 400 `invalid_token`.",
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = InvitationAcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = invitation_accept(
            request=request._request, tenant=routed_tenant(request), **data.validated_data
        )
        return Response(token_pair(user=user, tenant=request_tenant(request)), status=status.HTTP_201_CREATED)


@extend_schema(tags=["invitations"])
class InvitationViewSet(viewsets.GenericViewSet[Invitation]):
    serializer_class = InvitationSerializer
    permission_classes = [IsTenantAdmin]
    filterset_class = InvitationFilter
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[Invitation]:
        return invitation_list()

    def get_object(self) -> Invitation:
        try:
            return invitation_get(invitation_id=int(self.kwargs["pk"]))
        except (Invitation.DoesNotExist, ValueError):
            raise NotFound() from None

    @extend_schema(summary="List invitations (pending ones unless ?status= says otherwise)")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(summary="Get an invitation")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={201: InvitationSerializer},
        summary="Invite someone by email",
        description="The users API's role rules apply; an email that already has an account, or a "
        "pending invitation, is refused (400). The mail links to `/invitations/<token>/`.",
    )
    def create(self, request: Request) -> Response:
        data = InvitationCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = invitation_create(actor=request_user(request), **data.validated_data)
        return Response(self.get_serializer(invitation).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None}, summary="Revoke an invitation")
    def destroy(self, request: Request, pk: str) -> Response:
        invitation_revoke(actor=request_user(request), invitation=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
