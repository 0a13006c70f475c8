from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Single sign-on: a tenant's identity providers and its users' linked identities, which exist
    in tenant schemas only (TENANT_APPS, never SHARED_APPS)."""

    name = "accounts.sso"
    label = "sso"
    verbose_name = "Single sign-on"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from audit.registry import track

        from .models import OidcProvider, SamlProvider, SsoIdentity

        track(OidcProvider, mask=["client_secret_encrypted"])
        track(SamlProvider)
        track(SsoIdentity, exclude=["last_login_at"])
