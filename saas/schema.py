"""The OpenAPI schema, made the same way for every operation (DEFAULT_SCHEMA_CLASS and the hooks).

- `ApiAutoSchema` adds the error responses an operation can give (the one `ErrorEnvelope`
  component, with the error codes in the description, `x-error-codes` and one example per code),
  derived from the view: authentication -> 401, role permissions -> 403, a body -> 400/413/415,
  query parameters -> 400, path parameters or pages -> 404. A view adds what only it can answer
  with `extend_schema(responses={409: errors("conflict")})`; for a status it names, its codes are
  all the codes. Summaries come from `extend_schema(summary=...)` (else one is made from the
  method and path), tags from the path (`TAG_BY_PREFIX`), the description only from
  `extend_schema(description=...)`: docstrings are written for the code's readers.
- `SchemaGenerator` also documents plain Django views registered with `document_plain_view` (the
  webhook intake), through a documentation-only DRF view.
- `postprocess` (a POSTPROCESSING_HOOK) knows which host's schema it is: on the tenant schema every
  operation gets the optional `X-Tenant-ID` parameter, the routing refusals (400 `tenant_conflict`,
  403 `tenant_inactive`, 404 `tenant_not_found`), 429 `rate_limited` and the `X-RateLimit-*` headers;
  both get `servers`, the introduction, the tags, the shared components, and no serializer docstrings.
"""

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.urls import URLPattern
from drf_spectacular.generators import EndpointEnumerator
from drf_spectacular.generators import SchemaGenerator as BaseSchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions
from rest_framework.views import APIView

from accounts.apikeys.authentication import PERSON_ONLY_PREFIXES

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
TENANT_URLCONF_NAMES = ("saas.urls_tenant",)

ERROR_ENVELOPE = {
    "type": "object",
    "description": "Every error of the API: a stable snake_case `code`, a human `message` and `details`.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "description": "snake_case; the operation lists its codes."},
                "message": {"type": "string"},
                "details": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "validation_error: field -> list of messages; rate_limited: "
                    "`limit` and `retry_after`; otherwise usually empty.",
                },
            },
            "required": ["code", "message", "details"],
        }
    },
    "required": ["error"],
}

HEADERS = {
    "X-RateLimit-Limit": {
        "description": "The budget this request was counted against (requests per window).",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window of that budget.",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again; a request sent after them gets through.",
        "schema": {"type": "integer"},
    },
}

TENANT_PARAMETER = {
    "name": "X-Tenant-ID",
    "in": "header",
    "required": False,
    "description": "The tenant's slug, when neither the host nor the path names it (see the introduction).",
    "schema": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,30}$"},
}

STATUS_TEXT = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Unavailable",
}

# Example answers per code, as the API gives them.
_EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "validation_error": ("The request is not valid.", {"email": ["This field is required."]}),
    "not_authenticated": ("Authentication credentials were not provided.", {}),
    "invalid_token": ("Token is invalid or expired.", {}),
    "token_tenant_mismatch": ("This token belongs to another tenant.", {}),
    "permission_denied": ("You do not have permission to perform this action.", {}),
    "not_found": ("Not found.", {}),
    "conflict": ("The last active owner cannot be demoted, deactivated or removed.", {}),
    "payload_too_large": ("The body exceeds 1048576 bytes.", {}),
    "unsupported_media_type": ('Unsupported media type "text/plain" in request.', {}),
    "rate_limited": (
        "This tenant's request budget is used up; try again later.",
        {"limit": 600, "retry_after": 17},
    ),
    "unavailable": ("The service is temporarily unavailable.", {}),
    "tenant_conflict": ("The request names more than one tenant.", {"host": ["acme"], "header": ["other"]}),
    "tenant_not_found": ("No such tenant.", {}),
    "tenant_inactive": ("This tenant is not active.", {}),
    "invalid_signature": ("Signature refused: no matching signature.", {}),
    "invalid_payload": ("The body is not a valid event or batch.", {"events": ["At most 1000 events."]}),
    "template_behind": ("The tenant template is behind the migrations; run migrate_schemas.", {}),
}

# Tags by path under /api/v1/, longest prefix first; TAGS in SPECTACULAR_SETTINGS describes them.
TAG_BY_PREFIX = (
    ("auth/sso/", "sso"),
    ("auth/invitations/", "invitations"),
    ("auth/", "auth"),
    ("users/", "users"),
    ("tenants/", "tenants"),
    ("integrations/", "integrations"),
    ("webhooks/", "webhooks"),
    ("audit/", "audit"),
    ("sso/", "sso"),
    ("api-keys/", "api keys"),
    ("invitations/", "invitations"),
)
TAGS = [
    {
        "name": "auth",
        "description": "Sign-in with email and password, token refresh, logout, the signed-in user.",
    },
    {"name": "users", "description": "The tenant's users and their roles (owner > admin > member)."},
    {"name": "tenants", "description": "The platform's tenants (platform admins, platform host only)."},
    {"name": "integrations", "description": "Settings and secrets of the external services."},
    {"name": "webhooks", "description": "Events from the external services: intake, list, replay, health."},
    {"name": "audit", "description": "The append-only, hash-chained audit trail (read only)."},
    {
        "name": "sso",
        "description": "Single sign-on: the tenant's OIDC and SAML providers, and the API bridge.",
    },
    {"name": "api keys", "description": "Keys for machine clients: `Authorization: Api-Key <key>`."},
    {"name": "invitations", "description": "Invitations to join the tenant, and accepting one."},
]

_AUTH_CODES = ["not_authenticated", "invalid_token", "token_tenant_mismatch"]
_ROUTING_CODES = {400: ["tenant_conflict"], 403: ["tenant_inactive"], 404: ["tenant_not_found"]}
_PLAIN_PERMISSIONS = (permissions.AllowAny, permissions.IsAuthenticated)


class ErrorResponse(OpenApiResponse):
    """What `errors(...)` gives: an error response of the envelope, with its codes."""

    def __init__(self, *codes: str, description: str = "") -> None:
        super().__init__(response=ERROR_REF, description=description)
        self.codes = list(codes)
        self.note = description


def errors(*codes: str, description: str = "") -> ErrorResponse:
    """An error response for `extend_schema(responses={status: errors("code", ...)})`."""
    return ErrorResponse(*codes, description=description)


def error_response_object(status: int, codes: list[str], note: str = "") -> dict[str, Any]:
    """The response object of an error status: the envelope, its codes, one example per code."""
    listed = ", ".join(f"`{code}`" for code in codes)
    description = f"{STATUS_TEXT.get(status, 'Error')}: {listed}." + (f" {note}" if note else "")
    examples = {}
    for code in codes:
        message, details = _EXAMPLES.get(code, (STATUS_TEXT.get(status, "Error") + ".", {}))
        examples[code] = {"value": {"error": {"code": code, "message": message, "details": details}}}
    response: dict[str, Any] = {
        "description": description,
        "x-error-codes": list(codes),
        "content": {"application/json": {"schema": ERROR_REF, "examples": examples}},
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}
    return response


def _merge_codes(response: dict[str, Any], status: int, codes: list[str]) -> dict[str, Any]:
    known = list(response.get("x-error-codes") or [])
    merged = known + [code for code in codes if code not in known]
    fresh = error_response_object(status, merged)
    fresh["headers"] = {**response.get("headers", {}), **fresh.get("headers", {})}
    if not fresh["headers"]:
        del fresh["headers"]
    return fresh


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the platform's errors, tags, summaries and no docstrings."""

    def get_description(self) -> str:  # type: ignore[override]
        return ""  # docstrings explain the code; `extend_schema(description=...)` explains the API

    def get_summary(self) -> str | None:
        verb = {
            "list": "List",
            "retrieve": "Get",
            "create": "Create",
            "update": "Replace",
            "partial_update": "Update",
            "destroy": "Delete",
        }
        action = getattr(self.view, "action", None) or (
            "list"
            if self.method == "GET" and self._is_list_view()
            else self.method_mapping[self.method.lower()]
        )
        words = " ".join(self._tokenize_path()).replace("-", " ")
        return f"{verb.get(action, action.replace('_', ' ').capitalize())} {words}".strip()

    def get_operation_id(self) -> str:
        operation_id = str(super().get_operation_id())
        # A POST that is an action of its own (`auth/login`, `tenants/{slug}/suspend`), not the
        # create of a collection, is named for the action alone.
        action = getattr(self.view, "action", None)
        only_post = action is None and set(self.view.allowed_methods) <= {"POST", "OPTIONS"}
        if self.method == "POST" and (only_post or action not in (None, "create")):
            operation_id = operation_id.removesuffix("_create")
        return operation_id

    def get_tags(self) -> list[str]:
        rest = self.path.removeprefix("/api/v1/")
        for prefix, tag in TAG_BY_PREFIX:
            if rest.startswith(prefix):
                return [tag]
        return super().get_tags()

    def get_auth(self) -> list[dict[str, Any]]:
        auths: list[dict[str, Any]] = super().get_auth()
        if self.path.startswith(PERSON_ONLY_PREFIXES):  # an API key is refused there (403)
            auths = [auth for auth in auths if "apiKeyAuth" not in auth]
        return auths

    def _needs_authentication(self) -> bool:
        perms = [type(p) for p in self.view.get_permissions()]
        return bool(self.view.get_authenticators()) and permissions.AllowAny not in perms

    def _checks_roles(self) -> bool:
        return any(not isinstance(p, _PLAIN_PERMISSIONS) for p in self.view.get_permissions())

    def _has_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self._get_request_body() is not None

    def error_codes(self) -> dict[int, list[str]]:
        """The errors this operation can answer, by status, as far as the view tells."""
        found: dict[int, list[str]] = {}
        if self._needs_authentication():
            found[401] = list(_AUTH_CODES)
        if self._checks_roles():
            found[403] = ["permission_denied"]
        parameters = self._get_parameters()
        if self._has_body():
            found[400] = ["validation_error"]
            found[413] = ["payload_too_large"]
            found[415] = ["unsupported_media_type"]
        if any(p.get("in") == "query" for p in parameters):
            found[400] = ["validation_error"]
        paged = self.method == "GET" and self._is_list_view() and self._get_paginator() is not None
        if paged or any(p.get("in") == "path" for p in parameters) or "{" in self.path:
            found[404] = ["not_found"]
        return found

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)  # type: ignore[arg-type]
        declared = self.get_response_serializers()
        explicit: dict[int, ErrorResponse] = {}
        own: set[int] = set()  # statuses the view describes itself: left as they are
        if isinstance(declared, dict):
            for code, value in declared.items():
                status = int(code[0] if isinstance(code, tuple) else code)
                if isinstance(value, ErrorResponse):
                    explicit[status] = value
                else:
                    own.add(status)
        inferred = self.error_codes()
        for status in sorted((set(inferred) | set(explicit)) - own):
            # A view that declares a status's errors declares all of them (the intake's 400 is
            # `invalid_payload`, never `validation_error`).
            if status in explicit:
                responses[str(status)] = error_response_object(
                    status, explicit[status].codes, explicit[status].note
                )
            else:
                responses[str(status)] = error_response_object(status, inferred[status])
        return responses


# --- plain Django views in the schema ----------------------------------------------------------

_PLAIN_VIEWS: dict[str, type[APIView]] = {}


def document_plain_view(url_name: str, documentation: type[APIView]) -> None:
    """Documents the plain Django view routed as `url_name` by the (never routed) DRF view
    `documentation`, whose `extend_schema` describes it; the view itself stays as it is."""
    _PLAIN_VIEWS[url_name] = documentation


class _Enumerator(EndpointEnumerator):
    def _get_api_endpoints(
        self, patterns: Any, prefix: str
    ) -> list[tuple[str, str, str, Callable[..., Any]]]:
        if patterns is None:
            patterns = self.patterns
        endpoints: list[tuple[str, str, str, Callable[..., Any]]] = super()._get_api_endpoints(
            patterns, prefix
        )
        for pattern in patterns:
            path_regex = prefix + str(pattern.pattern)
            if isinstance(pattern, URLPattern) and pattern.name in _PLAIN_VIEWS:
                callback = _PLAIN_VIEWS[pattern.name].as_view()
                path = self.get_path_from_regex(path_regex)
                endpoints += [
                    (path, path_regex, method, callback) for method in self.get_allowed_methods(callback)
                ]
        return endpoints  # (super() recursed into the resolvers, through this method)


class SchemaGenerator(BaseSchemaGenerator):
    """DEFAULT_GENERATOR_CLASS: drf-spectacular's, plus the plain views of `document_plain_view`."""

    endpoint_inspector_cls = _Enumerator


# --- the post-processing hook ------------------------------------------------------------------

_INTRO = """\
{lead}

**Naming the tenant.** Tenant routes name their tenant in one of three ways, all equivalent:
the host (`<slug>.{base}` or a domain registered for the tenant), the header `X-Tenant-ID: <slug>`,
or the path: `/api/v1/tenants/<slug>/<rest>` is `/api/v1/<rest>` inside that tenant, for `<rest>`
under `auth/`, `users/`, `webhooks/`, `integrations/`, `sso/`, `audit/`, `api-keys/` and
`invitations/`. Two sources naming different tenants: 400 `tenant_conflict`; an unknown slug: 404
`tenant_not_found`; a suspended or deleted tenant: 403 `tenant_inactive`. Without any, a request
reaches the platform routes, which have a schema of their own (`/api/schema/` on the platform host).

**Authentication.** `Authorization: Bearer <access token>` from `POST /api/v1/auth/login` (5 minutes;
refresh with `POST /api/v1/auth/refresh`), or on tenant routes `Authorization: Api-Key <key>` from
`POST /api/v1/api-keys/` for machine clients (never on `auth/` or `api-keys/` routes).

**Errors.** Every error is `{{"error": {{"code", "message", "details"}}}}` (`ErrorEnvelope`); each
operation lists its statuses and codes.

**Rate limits.** On tenant routes every authenticated request spends the tenant's budget per
minute; anonymous requests a budget per client IP; webhook deliveries one per service. Counted
answers carry `X-RateLimit-Limit` and `X-RateLimit-Remaining`; over a budget the answer is 429
`rate_limited` with `Retry-After`. Sign-in is limited per client IP and per email.
"""

_LEADS = {
    True: "The API of one tenant: its users, API keys, integrations, webhooks, SSO and audit trail.",
    False: "The platform API: tenants, platform staff sign-in and the platform's audit trail.",
}


def _is_tenant_schema(generator: Any) -> bool:
    return str(getattr(generator, "urlconf", None) or settings.ROOT_URLCONF) in TENANT_URLCONF_NAMES


def _literal_alternatives(pattern: str) -> list[str] | None:
    """`^a|b|c$` (how Django regex groups come out) -> ["a", "b", "c"], when each is a plain word."""
    match = re.fullmatch(r"\^(.*)\$", pattern)
    words = match.group(1).split("|") if match else []
    if len(words) > 1 and all(re.fullmatch(r"[a-z0-9-]+", word) for word in words):
        return words
    return None


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOK: what depends on the host's urlconf, and the shared components."""
    tenant = _is_tenant_schema(generator)
    result["info"]["description"] = _INTRO.format(lead=_LEADS[tenant], base=settings.SAAS_BASE_DOMAIN)
    result["servers"] = [
        {
            "url": "/",
            "description": "This host"
            + (" (a tenant's host, or name the tenant with X-Tenant-ID)" if tenant else " (the platform)"),
        }
    ]
    if tenant:
        result["servers"].append(
            {
                "url": "{scheme}://{tenant}." + settings.SAAS_BASE_DOMAIN + "{port}",
                "description": "A tenant named by its host",
                "variables": {
                    "scheme": {"default": "http", "enum": ["http", "https"]},
                    "tenant": {"default": "acme"},
                    "port": {"default": ":8000"},
                },
            }
        )
    result["tags"] = TAGS
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE
    components["headers"] = dict(HEADERS)
    if tenant:
        components.setdefault("parameters", {})["TenantId"] = TENANT_PARAMETER
    for name, schema in components["schemas"].items():
        if name != "ErrorEnvelope":
            schema.pop("description", None)  # a serializer's docstring: written for the code's readers
    for item in result.get("paths", {}).values():
        for operation in item.values():
            _postprocess_operation(operation, tenant=tenant)
    return result


def _postprocess_operation(operation: dict[str, Any], *, tenant: bool) -> None:
    parameters = []
    for parameter in operation.get("parameters", []):
        if parameter.pop("x-platform-only", False) and tenant:
            continue  # a platform-route parameter the tenant routes ignore
        words = _literal_alternatives(parameter.get("schema", {}).get("pattern", ""))
        if parameter.get("in") == "path" and words:
            parameter["schema"] = {"type": "string", "enum": words}
        parameters.append(parameter)
    if tenant:
        parameters.append({"$ref": "#/components/parameters/TenantId"})
    if parameters:
        operation["parameters"] = parameters
    if not tenant:
        return
    responses = operation["responses"]
    for status, codes in {**_ROUTING_CODES, 429: ["rate_limited"]}.items():
        key = str(status)
        responses[key] = _merge_codes(responses.get(key, {}), status, codes)
    counted = {
        "X-RateLimit-Limit": {"$ref": "#/components/headers/X-RateLimit-Limit"},
        "X-RateLimit-Remaining": {"$ref": "#/components/headers/X-RateLimit-Remaining"},
    }
    for response in responses.values():
        response["headers"] = {**counted, **response.get("headers", {})}
