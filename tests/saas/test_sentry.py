"""Errors reach the error tracker with tenant and request id, and without secrets (issue 15, item 6).

The tracker is a real HTTP server on 127.0.0.1 that speaks the one endpoint the SDK uses (Sentry's
envelope endpoint, `/api/<project>/envelope/`); the events come from a failing view in this process
and from a failing task in a real Celery worker started with SENTRY_DSN.
"""

import gzip
import json
import threading
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sentry_sdk
from django.test import Client
from django_tenants.utils import schema_context

from saas.sentry import scrub, sentry_init
from tests.conftest import PASSWORD, start_worker, wait_for

SECRETS = ("Bearer sekrit-bearer-token", "sessionid=sekrit-cookie", "sha256=sekrit-signature", PASSWORD)


class SentrySink:
    """Keeps the events posted to its envelope endpoint (decompressed, parsed)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                text = body.decode()
                sink.raw.append(text)
                if "/envelope/" in self.path:
                    sink.events += [item for item in _envelope_items(text) if "exception" in item]
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.dsn = f"http://public-key@127.0.0.1:{self.server.server_address[1]}/1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _envelope_items(text: str) -> list[dict[str, Any]]:
    """The JSON payloads of an envelope: a header line, then item header / payload line pairs."""
    items = []
    for line in text.splitlines()[1:]:
        try:
            parsed = json.loads(line)
        except ValueError:
            continue
        if "type" not in parsed or "exception" in parsed:  # a payload, not an item header
            items.append(parsed)
    return items


@pytest.fixture
def sentry_sink() -> Iterator[SentrySink]:
    sink = SentrySink()
    yield sink
    sink.stop()


@pytest.fixture
def sentry_here(sentry_sink: SentrySink) -> Iterator[SentrySink]:
    """This process reports to the sink, as SENTRY_DSN would make it; switched off afterwards."""
    sentry_init(dsn=sentry_sink.dsn, environment="test", release="", traces_sample_rate=0.0)
    yield sentry_sink
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off again for the other tests


def _assert_private(sink: SentrySink, *also: str) -> None:
    everything = "\n".join(sink.raw)
    for secret in (*SECRETS, *also):
        value = secret.split()[-1].split("=")[-1]
        at = everything.find(value)
        assert at < 0, everything[max(0, at - 300) : at + 50]


def test_a_failing_view_reaches_the_tracker_tagged_and_scrubbed(db, tenant_a, sentry_here, monkeypatch):
    def boom(*args: Any, **kwargs: Any) -> None:
        owner_password = PASSWORD  # noqa: F841 - a local the tracker must not see
        raise RuntimeError(f"failed for owner@alpha.test password={PASSWORD}")

    monkeypatch.setattr("saas.health.JsonResponse", boom)
    client = Client(HTTP_HOST="alpha.localhost", raise_request_exception=False)
    response = client.get(
        "/health",
        HTTP_X_REQUEST_ID="req-sentry-view-1",
        HTTP_AUTHORIZATION=SECRETS[0],
        HTTP_COOKIE=SECRETS[1],
        HTTP_X_SIGNATURE=SECRETS[2],
    )
    assert response.status_code == 500
    sentry_sdk.flush(timeout=10)

    wait_for(lambda: bool(sentry_here.events), timeout=10, what="the event")
    event = sentry_here.events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["tenant"] == tenant_a.slug
    assert event["tags"]["request_id"] == "req-sentry-view-1"
    assert "user" not in event
    _assert_private(sentry_here, "owner@alpha.test")


def test_a_failing_task_in_a_real_worker_reaches_the_tracker(fresh_tenant, sentry_sink, django_db_blocker):
    from saas.request_id import current_request_id
    from tests.saas.tasks import fail_with_secrets

    proc, _ = start_worker(SENTRY_DSN=sentry_sink.dsn)
    try:
        request_id = f"req-{uuid.uuid4().hex[:8]}"
        token = current_request_id.set(request_id)  # queued by a request
        try:
            with django_db_blocker.unblock(), schema_context(fresh_tenant.schema_name):
                fail_with_secrets.delay(f"owner@{fresh_tenant.slug}.test", PASSWORD)
        finally:
            current_request_id.reset(token)
        wait_for(lambda: bool(sentry_sink.events), timeout=30, what="the task's event")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    event = sentry_sink.events[0]
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    assert event["tags"]["tenant"] == fresh_tenant.slug
    assert event["tags"]["request_id"] == request_id
    assert event["extra"]["celery-job"]["task_name"] == "tests.saas.tasks.fail_with_secrets"
    _assert_private(sentry_sink, f"owner@{fresh_tenant.slug}.test", f"tok-{PASSWORD}")


def test_scrub_blanks_sensitive_keys_pairs_and_addresses():
    event = {
        "request": {"headers": {"Authorization": "Bearer x", "X-Signature": "sha256=y", "Accept": "*/*"}},
        "pairs": [["Cookie", "a=b"], ["Host", "alpha.localhost"]],
        "vars": {"new_password": "p", "refresh_token": "t", "count": 3},
        "message": "mail to ann@example.test with Bearer abc.def and eyJa.eyJb.sig, password=hunter2",
    }
    clean = scrub(event)
    assert clean["request"]["headers"] == {
        "Authorization": "[Filtered]",
        "X-Signature": "[Filtered]",
        "Accept": "*/*",
    }
    assert clean["pairs"] == [["Cookie", "[Filtered]"], ["Host", "alpha.localhost"]]
    assert clean["vars"] == {"new_password": "[Filtered]", "refresh_token": "[Filtered]", "count": 3}
    assert clean["message"] == "mail to [email] with Bearer [Filtered] and [Filtered], password=[Filtered]"


def test_off_without_a_dsn():
    from django.conf import settings

    assert settings.SENTRY_DSN == ""
    assert sentry_sdk.get_client().transport is None  # nothing is sent anywhere
