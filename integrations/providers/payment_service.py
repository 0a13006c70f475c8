"""payment-service webhooks (contract section 7): subscription.* and invoice.* (handlers: issue 6)."""

from collections.abc import Callable

from integrations.models import WebhookEvent

HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {}
