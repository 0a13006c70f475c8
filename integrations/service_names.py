"""The three external services the platform integrates with: the one list, free of Django so the
sandbox (a plain HTTP server) and test tooling read it too. `integrations.models.Service` is its
TextChoices."""

USER_SERVICE = "user-service"
PAYMENT_SERVICE = "payment-service"
COMMUNICATION_SERVICE = "communication-service"
SERVICES = (USER_SERVICE, PAYMENT_SERVICE, COMMUNICATION_SERVICE)
