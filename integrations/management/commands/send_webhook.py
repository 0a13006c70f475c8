"""`manage.py send_webhook --tenant acme --service user-service --type user.created [--count N] [--batch K]`

Acts as the external service: builds realistic events of any type, signs them with the tenant's
secret (Standard Webhooks), posts them singly or in batches to the platform, retries 5xx, 429 and
connection errors like a real sender (same webhook-id, fresh signature), shows a progress bar and
prints a summary: sent, accepted, duplicates, failures, rate.

When the tenant's user service is the sandbox, `user.*` events first tell the sandbox about the
user (as the real service would already know it), so `GET /users/{id}` finds the profile; likewise
`subscription.*` events first set the subscription at a sandbox payment service, since the platform
applies a subscription as `GET /subscriptions/{id}` reports it, never as the event claims.
"""

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from integrations.models import Service
from integrations.sandbox.state import fake_user
from integrations.selectors import integration_settings_get
from integrations.services import integration_settings_ensure
from integrations.signing import signed_headers
from tenants.models import Plan, Tenant
from tenants.selectors import tenant_with_schema_get

TYPES = {
    "user-service": ["user.created", "user.updated", "user.deleted"],
    "payment-service": [
        "subscription.created",
        "subscription.updated",
        "subscription.canceled",
        "invoice.paid",
        "invoice.payment_failed",
    ],
    "communication-service": [
        "message.sent",
        "message.delivered",
        "message.opened",
        "message.bounced",
        "message.failed",
    ],
}


def build_event(event_type: str, options: dict[str, Any], n: int) -> dict[str, Any]:
    """One realistic event of `event_type` (any other type gets a minimal `data`)."""
    now = datetime.now(tz=UTC)
    data: dict[str, Any]
    if event_type.startswith("user."):
        user = fake_user(random.randint(1000, 999_999))  # noqa: S311 - test data
        user["id"] = options.get("user_id") or f"usr_{uuid.uuid4().hex[:12]}"
        user["email"] = options.get("email") or f"{user['first_name']}.{user['id']}@example.test".lower()
        data = {k: user[k] for k in ("id", "email", "first_name", "last_name", "role")}
    elif event_type.startswith("subscription."):
        data = {
            "id": options.get("subscription_id") or "sub_demo",
            "customer_id": "cus_demo",
            "plan": options.get("plan") or random.choice(Plan.values),  # noqa: S311
            "status": "canceled" if event_type.endswith("canceled") else "active",
            "current_period_end": (now + timedelta(days=30)).isoformat(),
        }
    elif event_type.startswith("invoice."):
        data = {
            "id": f"in_{uuid.uuid4().hex[:12]}",
            "subscription_id": options.get("subscription_id") or "sub_demo",
            "amount": 4900,
            "currency": "USD",
        }
    elif event_type.startswith("message."):
        data = {
            "id": f"msg_{uuid.uuid4().hex[:16]}",
            "message_id": options.get("message_id") or str(uuid.uuid4()),
            "recipient": options.get("email") or "someone@example.test",
        }
        if event_type in ("message.bounced", "message.failed"):
            data["reason"] = "mailbox does not exist"
    else:
        data = {"id": f"obj_{uuid.uuid4().hex[:12]}"}
    return {"id": f"evt_{uuid.uuid4().hex}", "type": event_type, "occurred_at": now.isoformat(), "data": data}


class Sender:
    """Posts signed bodies with retries; counts what the platform answered."""

    def __init__(self, url: str, secret: str, attempts: int) -> None:
        self.url, self.secret, self.attempts = url, secret, attempts
        self.session = requests.Session()
        self.accepted = self.duplicates = self.failures = 0
        self.errors: list[str] = []

    def send(self, document: dict[str, Any], events: int) -> None:
        body = json.dumps(document).encode()
        msg_id = f"msg_{uuid.uuid4().hex}"
        problem = ""
        for attempt in range(1, self.attempts + 1):
            headers = {"Content-Type": "application/json", **signed_headers(self.secret, body, msg_id=msg_id)}
            try:
                response = self.session.post(self.url, data=body, headers=headers, timeout=30)
            except requests.RequestException as exc:
                problem = type(exc).__name__
            else:
                if response.status_code == 202:
                    answer = response.json()
                    self.accepted += int(answer.get("accepted", 0))
                    self.duplicates += int(answer.get("duplicates", 0))
                    return
                problem = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code < 500 and response.status_code != 429:
                    break  # the platform refused this body: sending it again cannot help
            if attempt < self.attempts:
                time.sleep(random.uniform(0, min(5.0, 0.25 * 2**attempt)))  # noqa: S311
        self.failures += events
        self.errors.append(problem)


class Command(BaseCommand):
    help = "Sends signed, realistic webhook events to the platform as one of the external services."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--service", required=True, choices=Service.values)
        parser.add_argument("--type", required=True, dest="event_type", help="e.g. user.created")
        parser.add_argument("--count", type=int, default=1, help="events to send")
        parser.add_argument("--batch", type=int, default=1, help="events per request (1 = single)")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the platform's base URL")
        parser.add_argument("--sandbox-url", default=settings.SANDBOX_URL)
        parser.add_argument("--attempts", type=int, default=4, help="tries per request (5xx, errors)")
        parser.add_argument("--user-id")
        parser.add_argument("--email")
        parser.add_argument("--plan", choices=Plan.values)
        parser.add_argument("--subscription-id")
        parser.add_argument("--message-id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = tenant_with_schema_get(slug=options["tenant"])
        except Tenant.DoesNotExist:
            raise CommandError(f"No tenant {options['tenant']!r} (or it was purged).") from None
        service, event_type = options["service"], options["event_type"]
        count, batch = max(1, options["count"]), max(1, min(options["batch"], settings.WEBHOOK_MAX_BATCH))
        with schema_context(tenant.schema_name):
            secret = integration_settings_ensure(service=service).signing_secret
            target = integration_settings_get(service=service)
            target_base = target.base_url if target and target.enabled else ""
        sandbox = options["sandbox_url"].rstrip("/")
        tell_sandbox = (
            bool(sandbox)
            and (service == "user-service" or event_type.startswith("subscription."))
            and target_base.startswith(sandbox)
        )
        url = f"{options['url'].rstrip('/')}/api/v1/tenants/{tenant.slug}/webhooks/{service}/"
        sender = Sender(url, secret, max(1, options["attempts"]))
        if event_type not in TYPES[service]:
            self.stderr.write(f"Note: {event_type} is not a {service} type; the platform will ignore it.")

        console = Console(stderr=True)
        columns = (
            TextColumn(f"[bold]{service} {event_type}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        started = time.perf_counter()
        with Progress(*columns, console=console) as bar:
            task = bar.add_task("send", total=count)
            sent = 0
            while sent < count:
                size = min(batch, count - sent)
                events = [build_event(event_type, options, sent + i) for i in range(size)]
                if tell_sandbox:
                    self._tell_sandbox(sandbox, event_type, events)
                document = events[0] if batch == 1 else {"events": events}
                sender.send(document, size)
                sent += size
                bar.update(task, advance=size)
        elapsed = max(time.perf_counter() - started, 1e-9)
        self.stdout.write(
            f"sent {count}  accepted {sender.accepted}  duplicates {sender.duplicates}  "
            f"failures {sender.failures}  rate {count / elapsed:.1f} events/s"
        )
        for error in sorted(set(sender.errors))[:5]:
            self.stderr.write(f"  failure: {error}")
        if sender.failures:
            raise CommandError(f"{sender.failures} events were not accepted.")

    @staticmethod
    def _tell_sandbox(sandbox: str, event_type: str, events: list[dict[str, Any]]) -> None:
        try:
            if event_type.startswith("subscription."):
                for event in events:
                    requests.post(f"{sandbox}/_subscriptions", json=event["data"], timeout=5)
            elif event_type == "user.deleted":
                for event in events:
                    requests.delete(f"{sandbox}/_users/{event['data']['id']}", timeout=5)
            else:
                users = [{**event["data"], "title": "Engineer"} for event in events]
                requests.post(f"{sandbox}/_users", json={"users": users}, timeout=5)
        except requests.RequestException:
            pass  # no sandbox running: the events are sent all the same
