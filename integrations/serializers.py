from typing import Any

from rest_framework import serializers

from .models import EventStatus, Service, WebhookEvent


class IntegrationSettingsSerializer(serializers.Serializer[Any]):
    """Output: the API key and the signing secrets themselves are never returned."""

    service = serializers.CharField()
    enabled = serializers.BooleanField()
    base_url = serializers.CharField()
    has_api_key = serializers.BooleanField()
    secret_hint = serializers.SerializerMethodField()
    previous_secret_expires_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_secret_hint(self, endpoint: object) -> str:
        secret = str(getattr(endpoint, "signing_secret", ""))
        return f"whsec_…{secret[-4:]}" if secret else ""


class IntegrationSettingsUpdateSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(required=False)
    base_url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    api_key = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=500)


class SecretSerializer(serializers.Serializer[Any]):
    secret = serializers.CharField()


class WebhookEventSerializer(serializers.ModelSerializer[WebhookEvent]):
    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "service",
            "event_id",
            "type",
            "status",
            "attempts",
            "last_error",
            "occurred_at",
            "received_at",
            "processed_at",
            "next_attempt_at",
            "stale",
            "payload",
        ]


class EventFilterSerializer(serializers.Serializer[Any]):
    service = serializers.ChoiceField(choices=Service.choices, required=False)
    status = serializers.ChoiceField(choices=EventStatus.choices, required=False)
    type = serializers.CharField(required=False, max_length=100)
    since = serializers.DateTimeField(required=False)


class ReplaySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=[EventStatus.DEAD, EventStatus.IGNORED, EventStatus.PROCESSED, EventStatus.RETRYING],
        default=EventStatus.DEAD,
    )
    service = serializers.ChoiceField(choices=Service.choices, required=False, allow_null=True)


class RequeuedSerializer(serializers.Serializer[Any]):
    requeued = serializers.IntegerField()
