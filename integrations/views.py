"""Webhook intake (a plain Django view over the raw body), events API and integration settings."""

import logging
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.events import AuditEvent
from audit.security import security_event_record
from saas.exceptions import error_response
from saas.permissions import IsTenantAdmin
from saas.ratelimits import counted_by, webhook_counter
from saas.schema import errors

from . import metrics
from .models import Service, WebhookEvent
from .selectors import event_get, event_list, signing_secrets
from .serializers import (
    EventFilterSerializer,
    IntegrationSettingsSerializer,
    IntegrationSettingsUpdateSerializer,
    ReplaySerializer,
    RequeuedSerializer,
    SecretSerializer,
    WebhookEventSerializer,
)
from .services import (
    InvalidPayload,
    event_replay,
    events_replay,
    integration_settings_ensure,
    integration_settings_update,
    secret_rotate,
    webhook_parse,
    webhook_receive,
)
from .signing import InvalidSignature, verify

logger = logging.getLogger(__name__)


def _refuse(
    service: str,
    outcome: str,
    code: str,
    message: str,
    status_code: int,
    details: dict[str, Any] | None = None,
) -> JsonResponse:
    metrics.RECEIVED.labels(service, outcome).inc()
    return error_response(code, message, status_code, details)


def _verify(service: str, request: HttpRequest, body: bytes) -> None:
    """Checks the signature against the tenant's secrets: first a recent per-process copy, then, before
    refusing, the database (a secret rotated a moment ago is honoured at once)."""
    try:
        verify(signing_secrets(service=service, cached=True), request.headers, body)
    except InvalidSignature:
        verify(signing_secrets(service=service), request.headers, body)


@csrf_exempt
@counted_by(webhook_counter)  # per (tenant, service): deliveries never spend the tenant's users' budget
def webhook_intake(request: HttpRequest, service: str) -> HttpResponse:
    """`POST /api/v1/webhooks/<service>/`: size, content type, signature, shape, then one insert -> 202."""
    if request.method != "POST":
        return error_response("method_not_allowed", "Only POST is allowed here.", 405, Allow="POST")
    if service not in Service.values:
        return error_response("not_found", "Unknown service.", 404)
    limit = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return _refuse(service, "too_large", "payload_too_large", f"The body exceeds {limit} bytes.", 413)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _refuse(service, "too_large", "payload_too_large", f"The body exceeds {limit} bytes.", 413)
    charset = (request.content_params or {}).get("charset", "utf-8").lower()
    if request.content_type != "application/json" or charset not in ("utf-8", "utf8"):
        return _refuse(
            service, "unsupported_media_type", "unsupported_media_type", "Send application/json.", 415
        )
    try:
        _verify(service, request, body)
    except InvalidSignature as exc:
        security_event_record(
            kind=AuditEvent.WEBHOOK_BAD_SIGNATURE, details={"service": service, "reason": str(exc)[:200]}
        )
        return _refuse(service, "invalid_signature", "invalid_signature", f"Signature refused: {exc}.", 401)
    except DatabaseError:
        logger.warning("webhook intake: database unavailable", extra={"service": service})
        return error_response("unavailable", "The service is temporarily unavailable.", 503, Retry_After="5")
    try:
        accepted, duplicates = webhook_receive(service=service, body=webhook_parse(body=body))
    except InvalidPayload as exc:
        return _refuse(service, "invalid_payload", "invalid_payload", exc.message, 400, details=exc.details)
    except DatabaseError:
        logger.warning("webhook intake: database unavailable", extra={"service": service})
        return error_response("unavailable", "The service is temporarily unavailable.", 503, Retry_After="5")
    if accepted:
        metrics.RECEIVED.labels(service, "accepted").inc(accepted)
    if duplicates:
        metrics.RECEIVED.labels(service, "duplicate").inc(duplicates)
    # What JsonResponse renders for these two integers, without its encoder.
    content = f'{{"accepted": {accepted}, "duplicates": {duplicates}}}'
    return HttpResponse(content, status=202, content_type="application/json")


def _check_service(service: str) -> None:
    if service not in Service.values:
        raise NotFound("Unknown service.")


class IntegrationSettingsView(APIView):
    """`GET | PUT /api/v1/integrations/<service>/` (admin, owner; PUT of payment-service: platform admins)."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(summary="Get an integration's settings", responses=IntegrationSettingsSerializer)
    def get(self, request: Request, service: str) -> Response:
        _check_service(service)
        return Response(IntegrationSettingsSerializer(integration_settings_ensure(service=service)).data)

    @extend_schema(
        summary="Change an integration's settings",
        description="`api_key` is write only. The payment service's settings: platform admins only.",
        request=IntegrationSettingsUpdateSerializer,
        responses=IntegrationSettingsSerializer,
    )
    def put(self, request: Request, service: str) -> Response:
        _check_service(service)
        data = IntegrationSettingsUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        current = integration_settings_ensure(service=service)
        endpoint = integration_settings_update(
            service=service,
            enabled=data.validated_data.get("enabled", current.enabled),
            base_url=data.validated_data.get("base_url", current.base_url),
            api_key=data.validated_data.get("api_key"),
            actor=request.user,
        )
        return Response(IntegrationSettingsSerializer(endpoint).data)


class RotateSecretView(APIView):
    """`POST /api/v1/integrations/<service>/rotate-secret` -> the new secret, shown this once
    (payment-service: platform admins only)."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(
        summary="Rotate an integration's signing secret",
        description="The new secret is shown in this answer only; the old one keeps verifying for 24 "
        "hours. The payment service's: platform admins only.",
        operation_id="integrations_rotate_secret",
        request=None,
        responses=SecretSerializer,
    )
    def post(self, request: Request, service: str) -> Response:
        _check_service(service)
        return Response({"secret": secret_rotate(service=service, actor=request.user)})


class EventListView(generics.ListAPIView[WebhookEvent]):
    """`GET /api/v1/webhooks/events?service=&status=&type=&since=` (admin, owner)."""

    permission_classes = [IsTenantAdmin]
    serializer_class = WebhookEventSerializer
    filter_backends: list[type] = []

    @extend_schema(
        summary="List webhook events",
        parameters=[
            OpenApiParameter("service", str),
            OpenApiParameter("status", str),
            OpenApiParameter("type", str),
            OpenApiParameter("since", str, description="ISO 8601; received at or after"),
        ],
    )
    def get(self, request: Request, *args: object, **kwargs: object) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[WebhookEvent]:
        filters = EventFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return event_list(**filters.validated_data)


class EventDetailView(APIView):
    permission_classes = [IsTenantAdmin]

    @extend_schema(summary="Get a webhook event", responses=WebhookEventSerializer)
    def get(self, request: Request, pk: int) -> Response:
        event = event_get(pk=pk)
        if event is None:
            raise NotFound()
        return Response(WebhookEventSerializer(event).data)


def _actor(request: Request) -> Any:
    """Who replays: the user (or API key) itself, so the trail names it as everywhere else."""
    return request.user


class EventReplayView(APIView):
    """`POST /api/v1/webhooks/events/<id>/replay` -> 202 {"requeued": 1}."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(
        summary="Replay a webhook event",
        operation_id="webhooks_event_replay",
        request=None,
        responses={
            202: RequeuedSerializer,
            409: errors("conflict", description="The event is already waiting or being processed."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        event = event_get(pk=pk)
        if event is None:
            raise NotFound()
        event_replay(event=event, actor=_actor(request))
        return Response({"requeued": 1}, status=status.HTTP_202_ACCEPTED)


class EventBulkReplayView(APIView):
    """`POST /api/v1/webhooks/events/replay` `{"status": "dead", "service": ...}` -> 202 {"requeued": n}."""

    permission_classes = [IsTenantAdmin]

    @extend_schema(
        summary="Replay webhook events by status",
        description="Requeues every event with that status (and service, when given).",
        operation_id="webhooks_events_replay",
        request=ReplaySerializer,
        responses={202: RequeuedSerializer},
    )
    def post(self, request: Request) -> Response:
        data = ReplaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        requeued = events_replay(
            status=data.validated_data["status"],
            service=data.validated_data.get("service"),
            actor=_actor(request),
        )
        return Response({"requeued": requeued}, status=status.HTTP_202_ACCEPTED)
