from datetime import UTC, datetime, time
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework import serializers

from .models import ACTION_CODES, AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer[AuditEntry]):
    action = serializers.CharField(source="action_name")
    object_id = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "timestamp",
            "actor",
            "action",
            "object_type",
            "object_id",
            "changes",
            "remote_addr",
            "user_agent",
            "request_id",
        ]

    def get_object_id(self, entry: AuditEntry) -> int | str | None:
        if entry.object_id is not None:
            return entry.object_id
        return entry.object_pk or None


class _Moment(serializers.DateTimeField):
    """ISO 8601 date-time (naive means UTC) or a bare date (its start)."""

    def to_internal_value(self, value: Any) -> datetime:
        text = str(value).strip().replace(" ", "+")  # an unescaped "+" in a query string is a space
        try:
            moment = parse_datetime(text)
            day = parse_date(text) if moment is None else None
        except ValueError:  # well formed but impossible, e.g. month 13
            moment = day = None
        if moment is None:
            if day is None:
                raise serializers.ValidationError("Use an ISO 8601 date or date-time.")
            moment = datetime.combine(day, time.min)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        try:
            # In UTC: PostgreSQL refuses offsets past +-15:59 that Python accepts (+20:56 was a 500).
            return moment.astimezone(UTC)
        except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise serializers.ValidationError("Date-time out of range.") from None


class AuditFilterSerializer(serializers.Serializer[Any]):
    actor = serializers.CharField(required=False, max_length=300)
    action = serializers.ChoiceField(choices=sorted(ACTION_CODES), required=False)
    object_type = serializers.CharField(required=False, max_length=100)
    object_id = serializers.CharField(required=False, max_length=255)
    since = _Moment(required=False)
    until = _Moment(required=False)
    tenant = serializers.CharField(required=False, max_length=31)
