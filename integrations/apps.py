from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.registry import track

        from . import (
            metrics,  # noqa: F401  (registers the backlog collector)
            schema,  # noqa: F401  (documents the webhook intake in the OpenAPI schema)
        )
        from .models import IntegrationSettings, Invoice, Message, Subscription, WebhookEvent

        # Settings changes are audited as row changes; the secrets never reach the trail (a rotation
        # is recorded by secret_rotate), the API key only as "changed". Events are not tracked row by
        # row (every processing step would be an entry); replays are audited explicitly. What webhook
        # processing changes (subscriptions, invoices, messages, users) is audited with the actor
        # `system:<service>`.
        track(
            IntegrationSettings,
            exclude=["signing_secret", "previous_signing_secret"],
            mask=["api_key_encrypted"],
        )
        track(Subscription)
        track(Invoice)
        track(Message, exclude=["status_changed_at", "next_send_at", "body"])  # scheduling, content

        from tenants.due import outbox_register

        from .providers.communication_service import messages_next_due
        from .services import events_next_due, events_purge, events_sweep, messages_sweep

        # The tenant's sweep (tenants.due): webhook events and outgoing messages are outboxes. Intake
        # marks the tenant lock-free (integrations.services.webhook_receive): its table is named.
        outbox_register(
            name="webhook_events",
            sweep=events_sweep,
            next_due=events_next_due,
            purge=events_purge,
            tables=(WebhookEvent._meta.db_table,),
        )
        outbox_register(name="messages", sweep=messages_sweep, next_due=messages_next_due)
