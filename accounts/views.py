"""Sign-in endpoints (contract section 4), the same on tenant and platform routes."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import LoginSerializer, MeSerializer, RefreshSerializer, TokenPairSerializer
from .services import auth_login, auth_logout, auth_refresh


class AnonymousAPIView(APIView):
    """Endpoints that take credentials in the body; failures still answer 401, not 403."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class LoginView(AnonymousAPIView):
    @extend_schema(request=LoginSerializer, responses=TokenPairSerializer)
    def post(self, request: Request) -> Response:
        data = LoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens = auth_login(request=request._request, tenant=request.tenant, **data.validated_data)
        return Response(tokens)


class RefreshView(AnonymousAPIView):
    @extend_schema(request=RefreshSerializer, responses=TokenPairSerializer)
    def post(self, request: Request) -> Response:
        data = RefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(auth_refresh(refresh=data.validated_data["refresh"], tenant=request.tenant))


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=RefreshSerializer, responses={204: None})
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

    @extend_schema(responses=MeSerializer)
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user, context={"request": request}).data)
