from django.apps import AppConfig


class EmailsConfig(AppConfig):
    """The tenant's outgoing mail (an outbox sent by Celery); its own app so its rows stay per tenant."""

    name = "accounts.mail"
    label = "emails"  # table and migration names keep the app's original label
    default_auto_field = "django.db.models.BigAutoField"
