"""communication-service webhooks (contract section 7): message.* delivery statuses (handlers: issue 6)."""

from collections.abc import Callable

from integrations.models import WebhookEvent

HANDLERS: dict[str, Callable[[WebhookEvent], None]] = {}
