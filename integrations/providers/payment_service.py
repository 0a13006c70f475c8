"""payment-service: `GET /subscriptions/{id}` and its webhooks.

- `subscription.created|updated|canceled` `data: {"id", "customer_id", "plan", "status",
  "current_period_end"}` keep the tenant's `Subscription` current and move the tenant's plan (and
  so its rate-limit budget) with it: an active, trialing or past-due subscription gives its plan,
  a canceled one takes the tenant back to `free`. The event is a claim: what is applied is the
  subscription as `GET /subscriptions/{id}` reports it (the plan is a billing fact that no tenant
  user can set through the API, so no event data may set it either).
- `invoice.paid`, `invoice.payment_failed` `data: {"id", "subscription_id", "amount", "currency"}`
  record the invoice; a failed payment marks the subscription `past_due`, a later paid invoice
  makes it `active` again.
Each object (subscription, invoice) only moves to a newer `occurred_at`, so events in any order
end in the same state.
"""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from integrations.errors import PermanentError
from integrations.handlers import FetchThenApply, Handler
from integrations.http import fetch_or_none, service_client
from integrations.models import Invoice, Subscription, WebhookEvent
from integrations.versions import version_advance
from saas.typing import connection
from tenants.models import Plan, Tenant
from tenants.services import tenant_update

# Statuses in which the subscription's plan applies; anything else (canceled, unpaid...) is `free`.
PLAN_STATUSES = ("active", "trialing", "past_due")


def subscription_fetch(*, external_id: str) -> dict[str, Any] | None:
    """`GET {base_url}/subscriptions/{id}`, None when unknown or the service is not configured."""

    return fetch_or_none("payment-service", f"/subscriptions/{quote(external_id, safe='')}")


def tenant_plan_follow(*, subscription: Subscription) -> None:
    """Sets the current tenant's plan from its subscription (public row; drops the routing cache)."""

    plan = subscription.plan if subscription.status in PLAN_STATUSES else Plan.FREE
    tenant = Tenant.objects.filter(schema_name=connection.schema_name).first()
    if tenant is not None and tenant.plan != plan:
        tenant_update(tenant=tenant, plan=plan)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _subscription_fields(data: dict[str, Any]) -> dict[str, Any]:
    plan, status = data.get("plan"), data.get("status")
    if plan not in Plan.values:
        raise PermanentError(f"data.plan must be one of {', '.join(Plan.values)}")
    if not isinstance(status, str) or not status:
        raise PermanentError("data.status is required")
    return {
        "customer_id": str(data.get("customer_id") or "")[:255],
        "plan": plan,
        "status": status[:20],
        "current_period_end": _parse_time(data.get("current_period_end")),
    }


def _external_id(data: dict[str, Any], key: str = "id") -> str:
    value = data.get(key)
    if not isinstance(value, str | int) or not str(value):
        raise PermanentError(f"data.{key} is required")
    return str(value)


def subscription_verify(event: WebhookEvent) -> dict[str, Any]:
    """The fetch step of `subscription.*`: the subscription as the payment service reports it now.

    The event is only a claim that something changed; the plan comes from the service's API, never
    from the event's data: whoever signs an event must not be able to choose the plan.
    An unconfigured service or an unknown subscription is a PermanentError: nothing is applied."""

    external_id = _external_id(event.payload.get("data") or {})
    if service_client("payment-service") is None:
        raise PermanentError(
            "payment-service has no base URL or is disabled: a subscription event is verified against "
            "its API before the plan moves, and cannot be applied"
        )
    remote = subscription_fetch(external_id=external_id)
    if remote is None or str(remote.get("id") or "") != external_id:
        raise PermanentError(f"subscription {external_id} is not known to payment-service: nothing applied")
    return remote


def subscription_changed(event: WebhookEvent, remote: dict[str, Any]) -> None:
    """`subscription.created|updated|canceled`: upsert the subscription as the service's API reports
    it (fetched before the transaction), then move the tenant's plan."""
    external_id = _external_id(event.payload.get("data") or {})
    fields = _subscription_fields(remote)
    if not version_advance(
        object_type="subscription",
        object_id=external_id,
        occurred_at=event.occurred_at,
        event_id=event.event_id,
    ):
        event.stale = True
        return
    subscription, _ = Subscription.objects.update_or_create(external_id=external_id, defaults=fields)
    tenant_plan_follow(subscription=subscription)


def _amount(value: Any) -> int:
    """Minor units: an integer as it is; a decimal amount (12.5) is taken in major units."""
    if isinstance(value, bool):
        raise PermanentError("data.amount must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise PermanentError("data.amount must be a number") from exc
    return int(number) if number == number.to_integral_value() else int((number * 100).quantize(1))


def invoice_subscription_fetch(event: WebhookEvent) -> dict[str, Any] | None:
    """The fetch step of `invoice.*`: the invoice's subscription from the service's API when it is not
    known here yet (None: known, unknown to the service too, or the service is not configured)."""
    subscription_id = _external_id(event.payload.get("data") or {}, "subscription_id")
    if Subscription.objects.filter(external_id=subscription_id).exists():
        return None
    return subscription_fetch(external_id=subscription_id)


def invoice_changed(event: WebhookEvent, remote: dict[str, Any] | None) -> None:
    """`invoice.paid` / `invoice.payment_failed`: record the invoice and update its subscription
    (an unknown one is created from `remote`, the service's answer fetched before the transaction)."""
    data = event.payload.get("data") or {}
    external_id = _external_id(data)
    subscription_id = _external_id(data, "subscription_id")
    currency = data.get("currency")
    if not isinstance(currency, str) or len(currency) != 3:
        raise PermanentError("data.currency must be a 3-letter code")
    status = "paid" if event.type == "invoice.paid" else "payment_failed"
    if version_advance(
        object_type="invoice", object_id=external_id, occurred_at=event.occurred_at, event_id=event.event_id
    ):
        Invoice.objects.update_or_create(
            external_id=external_id,
            defaults={
                "subscription_external_id": subscription_id,
                "amount": _amount(data.get("amount")),
                "currency": currency.upper(),
                "status": status,
                "occurred_at": event.occurred_at,
            },
        )
    else:
        event.stale = True

    subscription = Subscription.objects.filter(external_id=subscription_id).first()
    if subscription is None:
        if remote is None:
            return  # an invoice of a subscription nobody knows: recorded, nothing else to move
        subscription = Subscription.objects.create(
            external_id=subscription_id, **_subscription_fields(remote)
        )
    if subscription.status == "canceled":
        return  # an invoice never revives a canceled subscription
    wanted = "past_due" if status == "payment_failed" else "active"
    if status == "paid" and subscription.status != "past_due":
        return  # a paid invoice only ends a past-due period
    if subscription.status == wanted:
        return
    if not version_advance(
        object_type="subscription",
        object_id=subscription_id,
        occurred_at=event.occurred_at,
        event_id=event.event_id,
    ):
        event.stale = True
        return
    subscription.status = wanted
    subscription.save(update_fields=["status", "updated_at"])
    tenant_plan_follow(subscription=subscription)


_SUBSCRIPTION = FetchThenApply(fetch=subscription_verify, apply=subscription_changed)
_INVOICE = FetchThenApply(fetch=invoice_subscription_fetch, apply=invoice_changed)

HANDLERS: dict[str, Handler] = {
    "subscription.created": _SUBSCRIPTION,
    "subscription.updated": _SUBSCRIPTION,
    "subscription.canceled": _SUBSCRIPTION,
    "invoice.paid": _INVOICE,
    "invoice.payment_failed": _INVOICE,
}
