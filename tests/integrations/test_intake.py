"""Intake: order of checks, limits, signatures per tenant, rotation, batches, duplicates (contract 7)."""

import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_tenants.utils import schema_context

from integrations.models import IntegrationSettings, WebhookEvent
from integrations.services import InvalidPayload, secret_rotate, webhook_parse

from .conftest import as_meta, event, secret_for, signed_headers

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/user-service/"


def stored(tenant):
    with schema_context(tenant.schema_name):
        return WebhookEvent.objects.count()


@pytest.mark.parametrize("via", ["host", "header", "path"])
def test_single_event_is_accepted_then_a_duplicate(tenant_a, deliver, via):
    doc = event()
    first = deliver(tenant_a, doc, via=via)
    assert first.status_code == 202
    assert first.json() == {"accepted": 1, "duplicates": 0}
    again = deliver(tenant_a, doc, via=via)
    assert again.status_code == 202
    assert again.json() == {"accepted": 0, "duplicates": 1}
    with schema_context(tenant_a.schema_name):
        row = WebhookEvent.objects.get()
        assert (row.service, row.event_id, row.type, row.status) == (
            "user-service",
            doc["id"],
            "user.updated",
            "received",
        )
        assert row.payload == doc


def test_batch_is_stored_with_duplicates_counted(tenant_a, deliver):
    known = event()
    deliver(tenant_a, known)
    batch = [known, *[event() for _ in range(9)], known]
    response = deliver(tenant_a, {"events": batch})
    assert response.status_code == 202
    assert response.json() == {"accepted": 9, "duplicates": 2}
    assert stored(tenant_a) == 10


def test_batch_of_a_thousand_is_accepted(tenant_a, deliver):
    response = deliver(tenant_a, {"events": [event() for _ in range(1000)]})
    assert response.json() == {"accepted": 1000, "duplicates": 0}


def test_same_event_id_in_another_service_is_a_different_event(tenant_a, deliver):
    doc = event()
    assert deliver(tenant_a, doc).json()["accepted"] == 1
    assert deliver(tenant_a, doc, service="payment-service").json()["accepted"] == 1


def test_same_event_id_in_another_tenant_is_its_own_event(tenant_a, tenant_b, deliver):
    doc = event()
    assert deliver(tenant_a, doc).json()["accepted"] == 1
    assert deliver(tenant_b, doc).json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{" + b" " * (1024 * 1024) + b"}", 413, "payload_too_large"),  # 1 MiB + 1 byte
        (b"{not json", 400, "invalid_payload"),
        (b"[" * 5000 + b"]" * 5000, 400, "invalid_payload"),
        (json.dumps(event(first_name="a\u0000b")).encode(), 400, "invalid_payload"),
        (
            b'{"id": "evt_1", "type": "x\x00", "occurred_at": "2025-01-01T00:00:00Z", "data": {}}',
            400,
            "invalid_payload",
        ),
        (b"\xff\xfe{}", 400, "invalid_payload"),
        (json.dumps({"events": []}).encode(), 400, "invalid_payload"),
        (json.dumps([event()]).encode(), 400, "invalid_payload"),
    ],
    ids=["too-large", "malformed", "deep", "nul-escape", "nul-raw", "not-utf8", "empty-batch", "list"],
)
def test_bad_bodies_are_refused_and_nothing_is_stored(tenant_a, deliver, body, status, code):
    response = deliver(tenant_a, body)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert stored(tenant_a) == 0


def test_exactly_one_mib_is_within_the_limit(tenant_a, deliver):
    doc = json.dumps(event()).encode()
    body = doc[:-1] + b" " * (1024 * 1024 - len(doc)) + b"}"
    assert len(body) == 1024 * 1024
    assert deliver(tenant_a, body).status_code == 202


def test_moderately_nested_data_is_fine_but_past_the_depth_limit_is_not(tenant_a, deliver):
    nested: dict = {}
    for _ in range(20):
        nested = {"n": nested}
    assert deliver(tenant_a, event(extra=nested)).status_code == 202
    for _ in range(20):
        nested = {"n": nested}
    assert deliver(tenant_a, event(extra=nested)).status_code == 400


def test_1001_events_are_refused(tenant_a, deliver):
    response = deliver(tenant_a, {"events": [event() for _ in range(1001)]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert stored(tenant_a) == 0


def test_one_malformed_item_fails_the_whole_batch_and_is_named(tenant_a, deliver):
    bad = event()
    bad["occurred_at"] = "yesterday"
    response = deliver(tenant_a, {"events": [event(), event(), bad]})
    assert response.status_code == 400
    assert "events[2].occurred_at" in response.json()["error"]["details"]
    assert stored(tenant_a) == 0


@pytest.mark.parametrize("field", ["id", "type", "occurred_at", "data"])
def test_each_missing_event_field_is_refused(tenant_a, deliver, field):
    doc = event()
    del doc[field]
    response = deliver(tenant_a, doc)
    assert response.status_code == 400
    assert f"event.{field}" in response.json()["error"]["details"]


def test_naive_timestamp_is_refused(tenant_a, deliver):
    assert deliver(tenant_a, event(occurred_at="2025-01-01T00:00:00")).status_code == 400


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_wrong_content_type_is_415(tenant_a, deliver, content_type):
    response = deliver(tenant_a, event(), content_type=content_type)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert stored(tenant_a) == 0


def test_size_is_checked_before_the_content_type_and_the_signature(tenant_a, deliver):
    response = deliver(
        tenant_a, b"x" * (1024 * 1024 + 1), content_type="text/plain", headers={"webhook-signature": "v1,bad"}
    )
    assert response.status_code == 413


def test_content_type_is_checked_before_the_signature(tenant_a, deliver):
    response = deliver(tenant_a, event(), content_type="text/plain", headers={"webhook-signature": "v1,x"})
    assert response.status_code == 415


def test_signature_is_checked_before_the_payload(tenant_a, deliver):
    response = deliver(tenant_a, b"{not json", headers={"webhook-signature": "v1,bad"})
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_signature_headers_are_401(tenant_a, client_for, header):
    body = json.dumps(event()).encode()
    headers = signed_headers(secret_for(tenant_a), body)
    del headers[header]
    response = client_for(tenant_a).post(URL, body, content_type="application/json", **as_meta(headers))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert stored(tenant_a) == 0


@pytest.mark.parametrize("offset", [-400, 400])
def test_stale_or_future_timestamps_are_401(tenant_a, client_for, offset):
    import time

    body = json.dumps(event()).encode()
    headers = signed_headers(secret_for(tenant_a), body, timestamp=int(time.time()) + offset)
    response = client_for(tenant_a).post(URL, body, content_type="application/json", **as_meta(headers))
    assert response.status_code == 401


def test_body_changed_after_signing_is_401(tenant_a, client_for):
    body = json.dumps(event()).encode()
    headers = signed_headers(secret_for(tenant_a), body)
    tampered = body.replace(b"Ada", b"Eve")
    response = client_for(tenant_a).post(URL, tampered, content_type="application/json", **as_meta(headers))
    assert response.status_code == 401
    assert stored(tenant_a) == 0


def test_another_tenants_secret_is_refused(tenant_a, tenant_b, deliver):
    response = deliver(tenant_a, event(), secret=secret_for(tenant_b))
    assert response.status_code == 401
    assert stored(tenant_a) == 0
    assert stored(tenant_b) == 0


def test_another_services_secret_is_refused(tenant_a, deliver):
    response = deliver(tenant_a, event(), secret=secret_for(tenant_a, "payment-service"))
    assert response.status_code == 401


def test_tenant_without_settings_refuses_everything(tenant_a, deliver):
    from integrations.signing import generate_secret

    with schema_context(tenant_a.schema_name):
        IntegrationSettings.objects.all().delete()
    assert deliver(tenant_a, event(), secret=generate_secret()).status_code == 401
    with schema_context(tenant_a.schema_name):
        assert not IntegrationSettings.objects.exists()  # intake never creates a secret


def test_rotated_secret_keeps_working_for_24_hours_then_stops(tenant_a, deliver, monkeypatch):
    old = secret_for(tenant_a)
    assert deliver(tenant_a, event(), secret=old).status_code == 202  # intake now holds a cached copy
    with schema_context(tenant_a.schema_name):
        new = secret_rotate(service="user-service")
    assert new != old
    assert deliver(tenant_a, event(), secret=new).status_code == 202
    assert deliver(tenant_a, event(), secret=old).status_code == 202  # within 24 hours

    later = timezone.now() + timedelta(hours=24, seconds=1)
    monkeypatch.setattr("integrations.selectors.timezone.now", lambda: later)
    assert deliver(tenant_a, event(), secret=old).status_code == 401
    assert deliver(tenant_a, event(), secret=new).status_code == 202


def test_unknown_service_is_404(tenant_a, client_for):
    response = client_for(tenant_a).post(
        "/api/v1/webhooks/mail-service/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_get_is_405(tenant_a, client_for):
    assert client_for(tenant_a).get(URL).status_code == 405


def test_intake_on_the_platform_host_is_404(client_for, db):
    response = client_for(None).post(URL, b"{}", content_type="application/json")
    assert response.status_code == 404


def test_database_down_answers_503_not_500(tenant_a, deliver, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("integrations.views.webhook_receive", down)
    response = deliver(tenant_a, event())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"


def test_intake_kicks_processing_only_after_commit(
    tenant_a, deliver, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("integrations.services.events_kick", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deliver(tenant_a, {"events": [event(), event()]})
    assert sent == []
    for callback in callbacks:
        callback()
    assert sent == [{"count": 2}]


@pytest.mark.parametrize(
    "body",
    [
        b'{"id": "evt_nan", "type": "t", "occurred_at": "2025-01-01T00:00:00Z", "data": {"x": NaN}}',
        b'{"id": "evt_sur", "type": "t", "occurred_at": "2025-01-01T00:00:00Z", "data": {"x": "\\ud800"}}',
        json.dumps(event(occurred_at="2025-W01-1T00:00:00+00:00")).encode(),
        json.dumps(event(occurred_at="2025-13-01T00:00:00+00:00")).encode(),
    ],
    ids=["nan", "lone-surrogate", "week-date", "month-13"],
)
def test_values_postgresql_cannot_store_are_400_not_500(tenant_a, deliver, body):
    response = deliver(tenant_a, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_payload"
    assert stored(tenant_a) == 0


def test_timestamps_in_other_offsets_are_stored_as_the_same_instant(tenant_a, deliver):
    deliver(tenant_a, event(event_id="evt_tz", occurred_at="2025-01-01T02:00:00.5+02:00"))
    with schema_context(tenant_a.schema_name):
        stored_at = WebhookEvent.objects.get(event_id="evt_tz").occurred_at
    assert stored_at.isoformat() == "2025-01-01T00:00:00.500000+00:00"


def _nested(levels: int) -> dict:
    data: dict = {}
    for _ in range(levels):
        data = {"a": data}
    return data


def test_the_shape_check_short_cut_refuses_and_accepts_what_the_full_walk_does(settings):
    """webhook_parse skips walking a body whose text cannot hold a NUL or nest too deep."""
    settings.WEBHOOK_MAX_JSON_DEPTH = 8
    deep = json.dumps(event(nested=_nested(7))).encode()  # 1 + 1 + 7 + 1 levels
    with pytest.raises(InvalidPayload, match="deeper than 8"):
        webhook_parse(body=deep)
    brackets = json.dumps(event(note="{[" * 20)).encode()  # many brackets, all inside a string
    assert len(webhook_parse(body=brackets).events) == 1
    backslash = json.dumps(event(note="\\u0000")).encode()  # a backslash, then "u0000": no NUL
    assert b"\\\\u0000" in backslash
    assert len(webhook_parse(body=backslash).events) == 1
    with pytest.raises(InvalidPayload, match="NUL"):
        webhook_parse(body=json.dumps(event(note="\u0000")).encode())
