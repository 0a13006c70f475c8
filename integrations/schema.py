"""The OpenAPI description of the webhook intake, a plain Django view (it reads the raw body to check
the signature before anything parses it): a documentation-only DRF view, never routed."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, PolymorphicProxySerializer, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from saas.schema import document_plain_view, errors

SIGNATURE_HEADERS = [
    OpenApiParameter(
        "webhook-id",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="The delivery's id (Standard Webhooks), part of what is signed.",
    ),
    OpenApiParameter(
        "webhook-timestamp",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="Unix seconds; more than 5 minutes away from the platform's clock is refused.",
    ),
    OpenApiParameter(
        "webhook-signature",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description='Space-separated `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`, '
        "where the key is the tenant's `whsec_<base64 key>` for that service; any one valid is enough.",
    ),
]


class IncomingEventSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(
        max_length=255, help_text="Unique per tenant and service: a repeat is a duplicate."
    )
    type = serializers.CharField(
        max_length=100, help_text="e.g. `user.created`; unknown types are stored `ignored`."
    )
    occurred_at = serializers.DateTimeField(help_text="ISO 8601 with a time zone.")
    # A field named like Serializer.data: this serializer only describes the body, it never renders.
    data = serializers.DictField(  # type: ignore[assignment]
        help_text="The event's object, by type (see the webhooks documentation)."
    )


class IncomingBatchSerializer(serializers.Serializer[Any]):
    events = serializers.ListField(child=IncomingEventSerializer(), min_length=1, max_length=1000)


class AcceptedSerializer(serializers.Serializer[Any]):
    accepted = serializers.IntegerField(help_text="New events, stored and queued.")
    duplicates = serializers.IntegerField(help_text="Events whose id was already stored: acknowledged only.")


_EVENT = {
    "id": "evt_01",
    "type": "user.created",
    "occurred_at": "2026-12-01T10:00:00Z",
    "data": {"id": "u_42", "email": "ada@example.test", "first_name": "Ada", "last_name": "Lovelace"},
}


class WebhookIntakeSchema(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Receive events from an external service",
        description="Called by the user, payment and communication services, signed by the Standard "
        "Webhooks scheme with the tenant's secret for that service (`POST /api/v1/integrations/"
        "{service}/rotate-secret`). The body is one event or a batch of at most 1,000, at most 1 MiB. "
        "202 once the events are committed; processing follows asynchronously. Deliveries spend a "
        "budget per (tenant, service), never the tenant's users' one.",
        operation_id="webhooks_receive",
        tags=["webhooks"],
        parameters=SIGNATURE_HEADERS,
        request=PolymorphicProxySerializer(
            component_name="WebhookDelivery",
            serializers=[IncomingEventSerializer, IncomingBatchSerializer],
            resource_type_field_name=None,
        ),
        examples=[
            OpenApiExample("one event", value=_EVENT, request_only=True),
            OpenApiExample("a batch", value={"events": [_EVENT]}, request_only=True),
        ],
        responses={
            202: AcceptedSerializer,
            400: errors("invalid_payload", description="Not one event or a batch of valid events."),
            401: errors("invalid_signature", description="Missing, stale or wrong signature."),
            404: errors("not_found", description="An unknown service."),
            413: errors("payload_too_large"),
            415: errors("unsupported_media_type", description="Send `application/json` (UTF-8)."),
            429: errors("rate_limited"),
            503: errors("unavailable", description="The database is unavailable; retry."),
        },
    )
    def post(self, request: Request, service: str) -> Response:  # pragma: no cover - never routed
        raise NotImplementedError


document_plain_view("webhook-intake", WebhookIntakeSchema)
