from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.registry import track

        from . import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from .models import OidcProvider, SamlProvider, SsoIdentity, User

        track(User, exclude=["last_login"])  # the password hash is masked by `track`
        track(OidcProvider, mask=["client_secret_encrypted"])
        track(SamlProvider)
        track(SsoIdentity, exclude=["last_login_at"])
