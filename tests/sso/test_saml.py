"""SAML 2 per tenant with responses signed for real by pysaml2's IdP side and xmlsec1."""

import base64
import re

import pytest
from django_tenants.utils import schema_context

from accounts.models import Role, User
from accounts.sso.models import SsoIdentity
from tests.audit.helpers import trail

from .conftest import (
    assert_not_signed_in,
    browser,
    configure_saml,
    refusal,
    saml_begin,
    saml_finish,
    saml_post,
    saml_sign_in,
)

pytestmark = pytest.mark.django_db


def test_sp_metadata_names_this_tenants_acs(tenant_a, tenant_b):
    response = browser(tenant_a).get("/sso/saml/metadata/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'entityID="http://alpha.localhost/sso/saml/metadata/"' in body
    assert "http://alpha.localhost/sso/saml/acs/" in body
    assert "beta.localhost" not in body
    assert (
        "http://beta.localhost/sso/saml/acs/" in browser(tenant_b).get("/sso/saml/metadata/").content.decode()
    )


def test_jit_user_with_mapped_role_signs_in(tenant_a, saml_idp, audit_log):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-1", "Ann@Example.test", groups=["saas-admins"])
    client = browser(tenant_a)
    response = saml_sign_in(client, tenant_a, saml_idp, next_path="/?from=saml")
    assert response.status_code == 302
    assert response["Location"] == "/?from=saml"
    home = client.get("/")
    assert home.status_code == 200
    assert b"ann@example.test" in home.content
    with schema_context(tenant_a.schema_name):
        user = User.objects.get(email="ann@example.test")
        assert user.role == Role.ADMIN
        link = SsoIdentity.objects.get(user=user)
        assert (link.protocol, link.issuer, link.subject) == ("saml", saml_idp.entity_id, "nid-1")
    events = [c["changes"].get("event") for c in audit_log]
    assert "login" in events
    created = [e for e in trail(tenant_a) if e.object_type == "accounts.user" and e.object_pk == str(user.pk)]
    assert [(e.action_name, e.actor) for e in created] == [("create", f"sso:saml:{saml_idp.entity_id}")]
    assert {c["changes"]["channel"] for c in audit_log if c["changes"].get("event") == "login"} == {"sso"}


def test_relogin_reapplies_the_role_and_exchanges_tokens(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-2", "bea@example.test", groups=["saas-admins"])
    saml_sign_in(browser(tenant_a), tenant_a, saml_idp)
    saml_idp.login_as("nid-2", "bea@example.test", groups=[])
    client = browser(tenant_a, enforce_csrf_checks=True)
    saml_sign_in(client, tenant_a, saml_idp)
    with schema_context(tenant_a.schema_name):
        assert User.objects.get(email="bea@example.test").role == Role.MEMBER
    client.get("/")
    response = client.post(
        "/api/v1/auth/sso/token",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_assertion_only_signature_is_enough(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-3", "cat@example.test")
    response = saml_sign_in(browser(tenant_a), tenant_a, saml_idp, sign_response=False, sign_assertion=True)
    assert response["Location"] == "/"


def test_response_only_signature_is_enough(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-3b", "cal@example.test")
    response = saml_sign_in(browser(tenant_a), tenant_a, saml_idp, sign_response=True, sign_assertion=False)
    assert response["Location"] == "/"


# -- refusals: each leaves the browser signed out -------------------------------------------------
def _post(tenant, client, idp, **kwargs):
    request = saml_begin(client, idp)
    args = {
        "acs_url": request["acs"],
        "audience": request["audience"],
        "in_response_to": request["request_id"],
    }
    return saml_post(tenant, idp.response(**{**args, **kwargs}), request["relay_state"])


def test_unsigned_response_is_refused(tenant_a, saml_idp, audit_log):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-4", "dan@example.test")
    client = browser(tenant_a)
    assert (
        refusal(_post(tenant_a, client, saml_idp, sign_response=False, sign_assertion=False))
        == "signature_missing"
    )
    assert_not_signed_in(client, tenant_a)
    assert audit_log[-1]["changes"]["reason"] == "signature_missing"


def test_signature_wrapped_response_is_refused(tenant_a, saml_idp):
    """XSW: an attacker's assertion carries the IdP's valid signature of the original one."""
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-5", "eli@example.test")
    client = browser(tenant_a)
    request = saml_begin(client, saml_idp)
    signed = base64.b64decode(
        saml_idp.response(
            acs_url=request["acs"],
            audience=request["audience"],
            in_response_to=request["request_id"],
            sign_response=False,
        )
    ).decode()
    found = re.search(r"<(\w+):Assertion .*</\1:Assertion>", signed, re.S)
    original, prefix = found.group(0), found.group(1)
    evil = original.replace(">nid-5<", ">attacker<").replace("eli@example.test", "mallory@example.test")
    evil = re.sub(r' ID="[^"]+"', ' ID="id-evil"', evil, count=1)
    evil = evil.replace(' Id="Signature1"', ' Id="Signature9"', 1)  # keeps the document schema-valid
    # The genuine assertion rides along inside the evil one, so the signature still finds its target.
    evil = evil.replace(
        f"</{prefix}:Conditions>", f"</{prefix}:Conditions><{prefix}:Advice>{original}</{prefix}:Advice>", 1
    )
    wrapped = signed.replace(original, evil)
    response = saml_post(tenant_a, base64.b64encode(wrapped.encode()).decode(), request["relay_state"])
    assert refusal(response) == "signature_invalid"
    assert_not_signed_in(client, tenant_a)
    with schema_context(tenant_a.schema_name):
        assert not User.objects.filter(email__in=["mallory@example.test", "eli@example.test"]).exists()


def test_wrong_audience_is_refused(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-6", "fin@example.test")
    client = browser(tenant_a)
    assert refusal(_post(tenant_a, client, saml_idp, audience="https://other.example/sp")) == "wrong_audience"
    assert_not_signed_in(client, tenant_a)


def test_wrong_destination_is_refused(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-6b", "fox@example.test")
    client = browser(tenant_a)
    response = _post(tenant_a, client, saml_idp, destination="http://elsewhere.test/acs")
    assert refusal(response) in {"destination_mismatch", "invalid_response"}
    assert_not_signed_in(client, tenant_a)


def test_expired_assertion_is_refused(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-7", "gil@example.test")
    client = browser(tenant_a)
    assert refusal(_post(tenant_a, client, saml_idp, not_on_or_after=-600)) == "token_expired"
    assert_not_signed_in(client, tenant_a)


def test_replayed_assertion_is_refused(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp, allow_idp_initiated=True)
    saml_idp.login_as("nid-8", "hub@example.test")
    client = browser(tenant_a)
    request = saml_begin(client, saml_idp)
    unsolicited = saml_idp.response(acs_url=request["acs"], audience=request["audience"], in_response_to=None)
    first = saml_post(tenant_a, unsolicited)
    assert first["Location"].startswith("/sso/saml/finish/")
    attacker = browser(tenant_a)
    assert refusal(saml_post(tenant_a, unsolicited)) == "replayed"
    assert_not_signed_in(attacker, tenant_a)
    # A solicited response replayed: its request was answered once, so it is refused too.
    solicited = saml_idp.response(
        acs_url=request["acs"], audience=request["audience"], in_response_to=request["request_id"]
    )
    assert saml_finish(client, saml_post(tenant_a, solicited))["Location"] == "/"
    assert refusal(saml_post(tenant_a, solicited)) == "unsolicited"


def test_response_of_tenant_a_idp_is_refused_at_tenant_b(tenant_a, tenant_b, saml_idp, other_saml_idp):
    configure_saml(tenant_a, saml_idp, allow_idp_initiated=True)
    configure_saml(tenant_b, other_saml_idp, allow_idp_initiated=True)
    saml_idp.login_as("nid-9", "ida@example.test")
    client_b = browser(tenant_b)
    request_b = saml_begin(client_b, other_saml_idp)
    # A's IdP answers B's request, addressed to B: B does not trust A's IdP's key.
    forged = saml_idp.response(
        acs_url=request_b["acs"], audience=request_b["audience"], in_response_to=request_b["request_id"]
    )
    assert refusal(saml_post(tenant_b, forged)) in {"signature_invalid", "invalid_response", "wrong_issuer"}
    # A genuine response for A, posted to B's ACS (IdP-initiated, which B allows): refused.
    client_a = browser(tenant_a)
    request_a = saml_begin(client_a, saml_idp)
    for_a = saml_idp.response(acs_url=request_a["acs"], audience=request_a["audience"], in_response_to=None)
    assert refusal(saml_post(tenant_b, for_a)) in {"signature_invalid", "invalid_response", "wrong_audience"}
    assert_not_signed_in(client_b, tenant_b)
    with schema_context(tenant_b.schema_name):
        assert not User.objects.filter(email="ida@example.test").exists()


def test_idp_initiated_is_refused_unless_enabled(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-10", "jan@example.test")
    client = browser(tenant_a)
    request = saml_begin(client, saml_idp)
    unsolicited = saml_idp.response(acs_url=request["acs"], audience=request["audience"], in_response_to=None)
    assert refusal(saml_post(tenant_a, unsolicited)) == "unsolicited"
    assert_not_signed_in(client, tenant_a)
    configure_saml(tenant_a, saml_idp, allow_idp_initiated=True)
    unsolicited = saml_idp.response(acs_url=request["acs"], audience=request["audience"], in_response_to=None)
    fresh = browser(tenant_a)
    assert saml_finish(fresh, saml_post(tenant_a, unsolicited, relay_state="//evil.test"))["Location"] == "/"


def test_answer_to_another_browsers_request_is_refused(tenant_a, saml_idp):
    """Login CSRF: a response to the attacker's own request, delivered to the victim's browser."""
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-11", "attacker@example.test")
    attacker, victim = browser(tenant_a), browser(tenant_a)
    victim.get("/login/")
    posted = _post(tenant_a, attacker, saml_idp)
    assert refusal(saml_finish(victim, posted)) == "binding_mismatch"
    assert_not_signed_in(victim, tenant_a)


def test_acs_post_sets_no_cookie(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp)
    saml_idp.login_as("nid-12", "kay@example.test")
    posted = _post(tenant_a, browser(tenant_a), saml_idp)
    assert posted["Location"].startswith("/sso/saml/finish/")
    assert "sessionid" not in posted.cookies
    assert "csrftoken" not in posted.cookies


def test_disallowed_domain_is_refused(tenant_a, saml_idp):
    configure_saml(tenant_a, saml_idp, allowed_domains=["corp.test"])
    saml_idp.login_as("nid-13", "lou@elsewhere.test")
    client = browser(tenant_a)
    assert refusal(saml_sign_in(client, tenant_a, saml_idp)) == "domain_not_allowed"
    assert_not_signed_in(client, tenant_a)
