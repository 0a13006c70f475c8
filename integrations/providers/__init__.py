"""Provider registry: each service's module has `HANDLERS = {"<event type>": handler(event)}`.

An event whose type has no handler is stored as `ignored`. (Test workers add `test.*` types:
tests/integrations/event_types.py.)
"""

from types import ModuleType

from . import communication_service, payment_service, user_service

PROVIDERS: dict[str, ModuleType] = {
    "user-service": user_service,
    "payment-service": payment_service,
    "communication-service": communication_service,
}
