"""The REST API (Django REST framework) and its OpenAPI schema (drf-spectacular)."""

REST_FRAMEWORK = {
    # JWT first: its `WWW-Authenticate: Bearer` is the one a 401 carries.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.TenantJWTAuthentication",
        "accounts.apikeys.authentication.ApiKeyAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only, at most SAAS_MAX_JSON_DEPTH deep (security.py).
    "DEFAULT_PARSER_CLASSES": ["saas.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "saas.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "saas.schema.ApiAutoSchema",  # error responses, tags, summaries
    "EXCEPTION_HANDLER": "saas.exceptions.exception_handler",
    # After authentication: the tenant's principals spend its budget, anonymous callers their own.
    "DEFAULT_THROTTLE_CLASSES": ["saas.ratelimits.TenantRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "SaaS platform API",
    "DESCRIPTION": "Multi-tenant platform: tenants, users, audit, webhooks and SSO.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # saas/schema.py: plain views (the webhook intake) documented too, and what depends on the host
    "DEFAULT_GENERATOR_CLASS": "saas.schema.SchemaGenerator",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "saas.schema.postprocess"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",  # operation ids and tags start after it
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "accounts.models.Role",
        "TenantRoleEnum": "accounts.models.TENANT_ROLE_CHOICES",
    },
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,  # the values are the labels
}
