"""`Authorization: Api-Key <key>`: a tenant's machine clients, on that tenant's routes only.

The principal put in `request.user` is no person: it has the key's role (so the permission classes,
the role rules of the services and the tenant's rate budget treat it like a user of that role), no
email, no id in the users table, and it is audited as `apikey:<name>`. It is refused (403) where a
route acts as a person or manages credentials: everything under `/api/v1/auth/` (profile, logout,
password, SSO, invitations accepted) and `/api/v1/api-keys/` (a leaked key cannot mint another).
"""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.tokens import InvalidToken
from audit.events import AuditEvent
from audit.security import security_event_record

from .models import ApiKey
from .selectors import api_key_for
from .services import api_key_touch

KEYWORD = "Api-Key"
PERSON_ONLY_PREFIXES = ("/api/v1/auth/", "/api/v1/api-keys/")


class ApiKeyPrincipal:
    """Who acts when a request carries an API key (in `request.user`; `request.auth` is the row)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_platform_admin = False
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    email = ""

    def __init__(self, key: ApiKey) -> None:
        self.key_id = key.pk
        self.name = key.name
        self.prefix = key.prefix
        self.role = key.role

    @property
    def audit_label(self) -> str:
        return f"apikey:{self.name}"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_module_perms(self, app_label: str) -> bool:
        return False

    def __str__(self) -> str:
        return self.audit_label


class ApiKeyRefusedHere(exceptions.PermissionDenied):
    default_detail = "API keys are not accepted on this route: it acts as a person or manages API keys."


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # not ours: a Bearer token or nothing
        if len(parts) != 2:
            raise InvalidToken("Send `Authorization: Api-Key <key>`.")
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            raise InvalidToken("API keys work only on their tenant's routes.")
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError:
            presented = ""
        key = api_key_for(key=presented)
        if key is None:
            # Another tenant's key finds no row here: the same refusal as an unknown or revoked one.
            prefix = presented.partition(".")[0][:16]
            security_event_record(kind=AuditEvent.API_KEY_INVALID, details={"prefix": prefix})
            raise InvalidToken("Unknown or revoked API key.")
        if request._request.path_info.startswith(PERSON_ONLY_PREFIXES):
            raise ApiKeyRefusedHere()
        api_key_touch(key=key)
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'
