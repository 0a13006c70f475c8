"""OpenID Connect per tenant against a real provider on 127.0.0.1."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.sso.models import SsoIdentity
from tests.audit.helpers import trail
from tests.conftest import PASSWORD

from .conftest import (
    assert_not_signed_in,
    browser,
    configure_oidc,
    idp_authorize,
    oidc_begin,
    oidc_callback,
    oidc_sign_in,
    refusal,
    signed_in_sessions,
)

pytestmark = pytest.mark.django_db


def test_authorization_request_carries_state_nonce_and_pkce(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    location = oidc_begin(browser(tenant_a))
    assert location.startswith(oidc_idp.issuer + "/authorize?")
    params = parse_qs(urlsplit(location).query)
    assert params["client_id"] == [oidc_idp.client_id]
    assert params["redirect_uri"] == ["http://alpha.localhost/sso/oidc/callback/"]
    assert params["code_challenge_method"] == ["S256"]
    assert len(params["state"][0]) >= 32
    assert len(params["nonce"][0]) >= 32
    assert "openid" in params["scope"][0].split()


def test_jit_user_with_mapped_role_signs_in(tenant_a, oidc_idp, audit_log):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-1", "Ada@Example.test", groups=["saas-admins"], given_name="Ada")
    client = browser(tenant_a)
    response = oidc_sign_in(client, next_path="/?tab=1")
    assert response.status_code == 302
    assert response["Location"] == "/?tab=1"
    home = client.get("/")
    assert home.status_code == 200
    assert b"ada@example.test" in home.content
    with schema_context(tenant_a.schema_name):
        user = User.objects.get(email="ada@example.test")
        assert (user.role, user.first_name, user.has_usable_password()) == ("admin", "Ada", False)
        link = SsoIdentity.objects.get(user=user)
        assert (link.protocol, link.issuer, link.subject) == ("oidc", oidc_idp.issuer, "sub-1")
    assert signed_in_sessions(tenant_a) == [str(user.pk)]
    events = [c["changes"].get("event") for c in audit_log]
    assert "login" in events
    # the just-in-time creation is auditlog's row entry, naming the IdP (no second entry for it)
    created = [e for e in trail(tenant_a) if e.object_type == "accounts.user" and e.object_pk == str(user.pk)]
    assert [(e.action_name, e.actor) for e in created] == [("create", f"sso:oidc:{oidc_idp.issuer}")]
    assert {c["changes"]["channel"] for c in audit_log if c["changes"].get("event") == "login"} == {"sso"}
    # The token request carried the PKCE verifier, and the client secret in Basic auth only.
    assert oidc_idp.token_requests[-1]["code_verifier"]
    assert "client_secret" not in oidc_idp.token_requests[-1]


def test_relogin_reapplies_the_role_from_the_idp(tenant_a, oidc_idp, audit_log):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-2", "bo@example.test", groups=["saas-admins"])
    oidc_sign_in(browser(tenant_a))
    oidc_idp.login_as("sub-2", "bo@example.test", groups=["other"])
    oidc_sign_in(browser(tenant_a))
    with schema_context(tenant_a.schema_name):
        assert User.objects.get(email="bo@example.test").role == Role.MEMBER
    # one entry for the role change: auditlog's, tagged role_change, naming the IdP
    changes = [e for e in trail(tenant_a) if e.object_type == "accounts.user" and "role" in (e.changes or {})]
    assert [(e.event, e.changes["role"], e.actor) for e in changes[-1:]] == [
        ("role_change", ["admin", "member"], f"sso:oidc:{oidc_idp.issuer}")
    ]
    assert not [c for c in audit_log if c["changes"].get("role") == ["admin", "member"]]


def test_highest_mapped_role_wins(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-3", "cy@example.test", groups=["saas-admins", "saas-owners", "x"])
    oidc_sign_in(browser(tenant_a))
    with schema_context(tenant_a.schema_name):
        assert User.objects.get(email="cy@example.test").role == Role.OWNER


def test_sso_session_exchanges_for_the_api_token_pair(tenant_a, oidc_idp):
    from rest_framework_simplejwt.tokens import AccessToken

    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-4", "dee@example.test", groups=["saas-admins"])
    client = browser(tenant_a, enforce_csrf_checks=True)
    oidc_sign_in(client)
    client.get("/")  # any page gives the browser its CSRF cookie
    csrf = client.cookies["csrftoken"].value
    assert (
        client.post("/api/v1/auth/sso/token", content_type="application/json").status_code == 403
    )  # no CSRF token: refused
    response = client.post("/api/v1/auth/sso/token/", content_type="application/json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "token_type", "expires_in"}
    claims = AccessToken(body["access"])
    assert (claims["tenant"], claims["role"]) == ("alpha", "admin")
    me = browser(tenant_a).get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.json()["email"] == "dee@example.test"


def test_token_bridge_refuses_without_an_sso_session(tenant_a, make_user):
    anonymous = browser(tenant_a).post("/api/v1/auth/sso/token", content_type="application/json")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "not_authenticated"
    user = make_user(tenant_a)
    client = browser(tenant_a)
    client.post("/login/", {"email": user.email, "password": PASSWORD})
    password_session = client.post("/api/v1/auth/sso/token", content_type="application/json")
    assert password_session.status_code == 401


def test_sso_session_of_tenant_a_gets_no_tokens_at_tenant_b(tenant_a, tenant_b, oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-5", "eve@example.test")
    client = browser(tenant_a)
    oidc_sign_in(client)
    session_cookie = client.cookies["sessionid"].value
    other = browser(tenant_b)
    other.cookies["sessionid"] = session_cookie
    assert other.post("/api/v1/auth/sso/token", content_type="application/json").status_code == 401


# -- refusals: each leaves the browser signed out -------------------------------------------------
def test_state_mismatch_is_refused(tenant_a, oidc_idp, audit_log):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-6", "fay@example.test")
    client = browser(tenant_a)
    callback = idp_authorize(oidc_begin(client))
    forged = callback.replace("state=", "state=x")
    assert refusal(oidc_callback(client, forged)) == "state_mismatch"
    assert refusal(oidc_callback(browser(tenant_a), callback)) == "state_mismatch"  # another browser
    assert_not_signed_in(client, tenant_a)
    refused = audit_log[-1]["changes"]
    assert (refused["event"], refused["protocol"], refused["reason"]) == (
        "sso_refused",
        "oidc",
        "state_mismatch",
    )
    assert (refused["count"], refused["source"]) == (1, "127.0.0.1")


def test_state_is_used_once(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-7", "gus@example.test")
    client = browser(tenant_a)
    callback = idp_authorize(oidc_begin(client))
    assert oidc_callback(client, callback)["Location"] == "/"
    client.post("/logout/")
    assert refusal(oidc_callback(client, callback)) == "state_mismatch"
    assert_not_signed_in(client, tenant_a)


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"nonce": "not-the-nonce"}, "nonce_mismatch"),
        ({"iss": "http://127.0.0.1:1/other-issuer"}, "wrong_issuer"),
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "token_expired"),
        ({"email_verified": False}, "email_not_verified"),
    ],
)
def test_bad_id_tokens_are_refused(tenant_a, oidc_idp, override, reason):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-8", "hal@example.test")
    oidc_idp.claims_override = override
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == reason
    assert_not_signed_in(client, tenant_a)
    with schema_context(tenant_a.schema_name):
        assert not User.objects.filter(email="hal@example.test").exists()


def test_email_verified_missing_everywhere_is_refused(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-8b", "hil@example.test", email_verified=None)  # nor in userinfo
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "email_not_verified"
    assert_not_signed_in(client, tenant_a)


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_unsigned_and_hmac_tokens_are_refused(tenant_a, oidc_idp, alg):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-9", "ivy@example.test")
    oidc_idp.sign_with = alg
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "algorithm_not_allowed"
    assert_not_signed_in(client, tenant_a)


def test_token_of_tenant_a_idp_is_refused_at_tenant_b(tenant_a, tenant_b, oidc_idp, other_oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    configure_oidc(tenant_b, other_oidc_idp)
    oidc_idp.login_as("sub-10", "jo@example.test")
    other_oidc_idp.login_as("sub-10", "jo@example.test")
    # B's token endpoint hands out an ID token made by A's IdP (for A's client): refused.
    other_oidc_idp.sign_with, other_oidc_idp.foreign = "foreign", oidc_idp
    client_b = browser(tenant_b)
    assert refusal(oidc_sign_in(client_b)) == "invalid_token"
    # A code issued by A's IdP for A, presented at B's callback with B's state: B's IdP refuses it.
    client_a = browser(tenant_a)
    code = parse_qs(urlsplit(idp_authorize(oidc_begin(client_a))).query)["code"][0]
    state_b = parse_qs(urlsplit(oidc_begin(client_b)).query)["state"][0]
    assert refusal(client_b.get("/sso/oidc/callback/", {"code": code, "state": state_b})) == "idp_error"
    assert_not_signed_in(client_b, tenant_b)
    with schema_context(tenant_b.schema_name):
        assert not User.objects.filter(email="jo@example.test").exists()


def test_disallowed_domain_is_refused(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp, allowed_domains=["corp.test"])
    oidc_idp.login_as("sub-11", "kim@elsewhere.test")
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "domain_not_allowed"
    assert_not_signed_in(client, tenant_a)
    oidc_idp.login_as("sub-11", "kim@corp.test")
    assert oidc_sign_in(client)["Location"] == "/"


def test_same_email_from_another_issuer_is_not_merged(tenant_a, oidc_idp, other_oidc_idp, make_user):
    owner = make_user(tenant_a, Role.OWNER, email="lee@example.test")
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-12", "lee@example.test", groups=["saas-owners"])
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "identity_conflict"
    assert_not_signed_in(client, tenant_a)
    # Linked to issuer 1, then the tenant switches IdP: issuer 2's same email and subject don't merge.
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-13", "mo@example.test")
    oidc_sign_in(browser(tenant_a))
    configure_oidc(tenant_a, other_oidc_idp)
    other_oidc_idp.login_as("sub-13", "mo@example.test")
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "identity_conflict"
    assert_not_signed_in(client, tenant_a, nobody=False)
    with schema_context(tenant_a.schema_name):
        assert User.objects.filter(email="mo@example.test").count() == 1
        assert SsoIdentity.objects.filter(user__email="lee@example.test").count() == 0
        assert User.objects.get(pk=owner.pk).role == Role.OWNER


def test_jit_off_refuses_unknown_users(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp, jit=False)
    oidc_idp.login_as("sub-14", "ned@example.test")
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "jit_disabled"
    assert_not_signed_in(client, tenant_a)


def test_deactivated_user_is_refused(tenant_a, oidc_idp):
    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-15", "oz@example.test")
    oidc_sign_in(browser(tenant_a))
    with schema_context(tenant_a.schema_name):
        User.objects.filter(email="oz@example.test").update(is_active=False)
    client = browser(tenant_a)
    assert refusal(oidc_sign_in(client)) == "user_inactive"
    assert_not_signed_in(client, tenant_a, nobody=False)


def test_idp_error_and_disabled_provider_are_refused(tenant_a, oidc_idp):
    client = browser(tenant_a)
    assert refusal(client.get("/sso/oidc/login/")) == "not_configured"
    configure_oidc(tenant_a, oidc_idp)
    state = parse_qs(urlsplit(oidc_begin(client)).query)["state"][0]
    assert (
        refusal(client.get("/sso/oidc/callback/", {"error": "access_denied", "state": state})) == "idp_error"
    )
    assert_not_signed_in(client, tenant_a)


def test_last_owner_is_not_demoted_by_the_idp(tenant_a, oidc_idp, audit_log):
    configure_oidc(tenant_a, oidc_idp)
    with schema_context(tenant_a.schema_name):
        User.objects.filter(role=Role.OWNER).update(role=Role.ADMIN)
    oidc_idp.login_as("sub-16", "pat@example.test", groups=["saas-owners"])
    oidc_sign_in(browser(tenant_a))
    oidc_idp.login_as("sub-16", "pat@example.test", groups=[])
    oidc_sign_in(browser(tenant_a))
    with schema_context(tenant_a.schema_name):
        assert User.objects.get(email="pat@example.test").role == Role.OWNER
    assert audit_log
    assert any(c["changes"].get("event") == "sso_role_change_refused" for c in audit_log)


def test_sso_completion_counts_per_ip_like_a_password_sign_in(settings, tenant_a, tenant_b, oidc_idp):
    settings.SAAS_LOGIN_RATE_PER_IP = "2/m"
    configure_oidc(tenant_a, oidc_idp)
    client = browser(tenant_a)
    for _ in range(2):
        assert refusal(client.get("/sso/oidc/callback/?state=forged&code=x")) == "state_mismatch"
    assert refusal(client.get("/sso/oidc/callback/?state=forged&code=x")) == "rate_limited"
    assert b"Too many sign-in attempts" in client.get("/login/?sso_error=rate_limited").content


def test_sso_sign_in_is_audited_as_a_login_in_the_tenant_trail(tenant_a, tenant_b, oidc_idp):
    from tests.audit.helpers import trail

    configure_oidc(tenant_a, oidc_idp)
    oidc_idp.login_as("sub-audit", "audit@example.test")
    assert oidc_sign_in(browser(tenant_a)).status_code == 302
    (entry,) = [e for e in trail(tenant_a) if e.event == "login"]
    assert (entry.object_type, entry.actor) == ("accounts.user", "audit@example.test")
    assert entry.changes | {"issuer": ""} == {
        "event": "login",
        "channel": "sso",
        "protocol": "oidc",
        "issuer": "",
    }
    assert [e for e in trail(tenant_b) if e.event == "login"] == []
