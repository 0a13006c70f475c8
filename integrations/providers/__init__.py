"""Provider registry: each service's module has `HANDLERS = {"<event type>": handler(event)}`.

An event whose type has no handler is stored as `ignored`. With WEBHOOK_TEST_EVENT_TYPES on (tests
only) the `test.*` types of `integrations.providers.testing` are added to every service.
"""

from types import ModuleType

from django.conf import settings

from integrations.models import Service

from . import communication_service, payment_service, user_service

PROVIDERS: dict[str, ModuleType] = {
    Service.USER: user_service,
    Service.PAYMENT: payment_service,
    Service.COMMUNICATION: communication_service,
}

if getattr(settings, "WEBHOOK_TEST_EVENT_TYPES", False):
    from . import testing

    for _module in PROVIDERS.values():
        _module.HANDLERS.update(testing.HANDLERS)
