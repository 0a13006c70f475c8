"""Single sign-on per tenant: OpenID Connect (mozilla-django-oidc) and SAML 2 (djangosaml2).

Each tenant keeps its identity providers in its own schema (`models`), users are matched by
(issuer, subject) and provisioned just in time (`services`), and the two protocols adapt the
libraries to read the current tenant's provider instead of global settings (`oidc`, `saml`).
"""
