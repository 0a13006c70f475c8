"""DRF authentication: simplejwt access tokens, checked against the route's tenant on every request.

The user row is read on every request (with the token's revocation in the same query), so a
deactivation, a demotion or a logout takes effect on the very next request.
"""

import functools
from typing import Any

from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from audit.events import AuditEvent
from audit.services import audit_record
from saas.db import prepared
from saas.db.prepared import Statement

from .models import RevokedAccessToken, User
from .tokens import InvalidToken, check_token_tenant

_BIGINT = 2**63


@functools.cache
def _token_user_statement() -> tuple[Statement, list[str]]:
    """The one statement behind every token: the user's columns plus whether the jti is revoked.

    Written out once instead of built by the ORM on every request (compiling that queryset was
    most of the authentication's cost), and prepared once per database session (saas/db/prepared.py);
    the same filter: id, active, token generation."""
    quote = connection.ops.quote_name
    fields = [field.attname for field in User._meta.concrete_fields]
    # Varchars as text: a migration that changes a length must not change the prepared statement's
    # result type (saas/db/prepared.py).
    columns = ", ".join(
        f"u.{quote(field.column)}" + ("::text" if field.get_internal_type() == "CharField" else "")
        for field in User._meta.concrete_fields
    )
    revoked = RevokedAccessToken._meta
    sql = (
        f"SELECT {columns}, EXISTS (SELECT 1 FROM {quote(revoked.db_table)}"  # noqa: S608 (model names)
        f" WHERE {quote(revoked.get_field('jti').column)} = %s)"
        f" FROM {quote(User._meta.db_table)} u"
        f" WHERE u.{quote(User._meta.pk.column)} = %s AND u.{quote(User._meta.get_field('is_active').column)}"
        f" AND u.{quote(User._meta.get_field('token_generation').column)} = %s"
    )
    return Statement(sql, label="token_user"), fields


def _token_user_row(user_id: int, jti: str, generation: int) -> User | None:
    statement, fields = _token_user_statement()
    with connection.cursor() as cursor:
        prepared.execute(cursor, statement, [jti, user_id, generation])
        row = cursor.fetchone()
    if row is None or row[-1]:  # no such active user of that generation, or the token is revoked
        return None
    return User.from_db(connection.alias, fields, row[:-1])


def load_token_user(*, user_id: Any, jti: str, from_public: bool, generation: int = 0) -> User | None:
    """The active user behind a token, or None if gone, inactive, or the token was revoked (by
    logout, or by a password reset or change, which raises the user's `token_generation`)."""
    try:
        pk, gen = int(user_id), int(generation)
    except (TypeError, ValueError):
        return None
    if not (0 < pk < _BIGINT and 0 <= gen < _BIGINT):  # never issued; PostgreSQL would refuse it
        return None
    if from_public:
        with schema_context(get_public_schema_name()):
            return _token_user_row(pk, str(jti), gen)
    return _token_user_row(pk, str(jti), gen)


class TenantJWTAuthentication(JWTAuthentication):
    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:  # type: ignore[override]
        header = self.get_header(request)
        if header is None:
            return None
        raw = self.get_raw_token(header)
        if raw is None:
            return None
        try:
            token = AccessToken(raw)  # type: ignore[arg-type]  # simplejwt annotates the raw token as a Token
        except TokenError as exc:
            raise InvalidToken(str(exc)) from exc

        tenant = getattr(request, "tenant", None)
        token_tenant = token.get("tenant")
        check_token_tenant(token_tenant=token_tenant, tenant=tenant, role=token.get("role"))
        user = load_token_user(
            user_id=token.get("sub"),
            jti=token["jti"],
            from_public=token_tenant is None and tenant is not None,
            generation=token.get("gen", 0),
        )
        if user is None:
            raise InvalidToken("User is inactive, unknown, or the token was revoked.")
        if token_tenant is None and not user.is_platform_admin:
            raise InvalidToken()
        if token_tenant is None and tenant is not None:  # platform staff inside a tenant: audited
            audit_record(
                event=AuditEvent.PLATFORM_ACCESS,
                target=tenant,
                actor=user,
                details={"method": request.method, "path": request.path},
            )
        request.auth_token_tenant = token_tenant  # type: ignore[attr-defined]
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
