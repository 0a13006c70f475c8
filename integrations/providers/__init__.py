"""Provider registry: each service's module has `HANDLERS = {"<event type>": handler(event)}`.

An event whose type has no handler is stored as `ignored`. (Test workers add `test.*` types:
tests/integrations/event_types.py.)
"""

from types import ModuleType

from integrations.models import Service

from . import communication_service, payment_service, user_service

PROVIDERS: dict[str, ModuleType] = {
    Service.USER: user_service,
    Service.PAYMENT: payment_service,
    Service.COMMUNICATION: communication_service,
}
