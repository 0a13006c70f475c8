"""Authentication: users, passwords, JWTs and single sign-on.

Each tenant configures its own IdPs (accounts/sso); nothing here names an IdP. The OIDC and SAML
libraries read the current tenant's provider, never global OIDC_*/SAML_CONFIG values.
"""

from datetime import timedelta

from .core import SECRET_KEY, env

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",  # email + password (API and sign-in page)
    "accounts.sso.oidc.TenantOIDCBackend",  # only from /sso/oidc/callback/
    "accounts.sso.saml.TenantSaml2Backend",  # only from /sso/saml/finish/
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# A password reset link works once, for this long after its mail was sent (Django's token generator).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_SECONDS", default=3600)
# An invitation can be accepted once, for this many days.
INVITATION_TTL_DAYS = env.int("INVITATION_TTL_DAYS", default=7)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_SECONDS", default=300)),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_REFRESH_SECONDS", default=7 * 86400)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.LoginSerializer",
}

# Single sign-on
SSO_HTTP_TIMEOUT = env.float("SSO_HTTP_TIMEOUT", default=5.0)  # every call to an IdP
SSO_DISCOVERY_CACHE_SECONDS = env.int("SSO_DISCOVERY_CACHE_SECONDS", default=300)
SSO_CLOCK_SKEW_SECONDS = env.int("SSO_CLOCK_SKEW_SECONDS", default=60)
SSO_STATE_TTL_SECONDS = 600  # an SSO sign-in must finish within 10 minutes
SSO_HANDOFF_TTL_SECONDS = 120  # SAML: from the ACS POST to the browser's follow-up GET
SAML_CONFIG_LOADER = "accounts.sso.saml.saml_config_loader"
SAML_DEFAULT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
SAML_XMLSEC_BINARY = env.str("SAML_XMLSEC_BINARY", default="")  # default: xmlsec1 on PATH
SAML_CSP_HANDLER = ""  # no django-csp; responses carry no inline script
