from django.apps import AppConfig


class EmailsConfig(AppConfig):
    """The tenant's outgoing mail (an outbox sent by Celery); its own app so its rows stay per tenant."""

    name = "accounts.mail"
    label = "emails"  # table and migration names keep the app's original label
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tenants.due import outbox_register

        from .services import emails_next_due, emails_purge, emails_sweep

        # The tenant's sweep and retention (tenants.due) include the mail outbox.
        outbox_register(name="emails", sweep=emails_sweep, next_due=emails_next_due, purge=emails_purge)
