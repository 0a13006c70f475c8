from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.registry import track

        from . import mails, schema  # noqa: F401  (registers the mail builders, the OpenAPI auth extension)
        from .models import Invitation, User

        # The password hash is masked by `track`; a token generation moves with every password reset
        # or change, which are audited as such.
        track(User, exclude=["last_login", "token_generation"])
        track(Invitation)  # no token is stored: the link's token is an HMAC of the row
