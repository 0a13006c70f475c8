from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.sessions.models import Session
        from django.db.models.signals import post_save
        from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

        from audit.registry import track

        from . import mails, schema  # noqa: F401  (registers the mail builders, the OpenAPI auth extension)
        from .credentials import credentials_written
        from .models import Invitation, RevokedAccessToken, User

        # A tenant that writes credentials gets their pruning (accounts.tasks); an idle one does not.
        for model in (OutstandingToken, RevokedAccessToken, Session):
            post_save.connect(credentials_written, sender=model, dispatch_uid=f"credentials-{model.__name__}")

        # The password hash is masked by `track`; a token generation moves with every password reset
        # or change, which are audited as such.
        track(User, exclude=["last_login", "token_generation"])
        track(Invitation)  # no token is stored: the link's token is an HMAC of the row
