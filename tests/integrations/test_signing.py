"""Standard Webhooks signatures: the published vector and every way a signature can be wrong."""

import json

import pytest

from integrations.signing import InvalidSignature, generate_secret, sign, verify

# The test vector published with the Standard Webhooks specification (and its reference libraries).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def headers(signature=VECTOR_SIGNATURE, msg_id=VECTOR_ID, ts=VECTOR_TS):
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_sign_matches_the_published_vector():
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE


def test_verify_accepts_the_published_vector():
    verify([VECTOR_SECRET], headers(), VECTOR_BODY, now=VECTOR_TS)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_each_missing_header_is_refused(missing):
    h = headers()
    del h[missing]
    with pytest.raises(InvalidSignature, match=missing):
        verify([VECTOR_SECRET], h, VECTOR_BODY, now=VECTOR_TS)


@pytest.mark.parametrize("offset", [-300, 300])
def test_tolerance_edges_are_accepted(offset):
    verify([VECTOR_SECRET], headers(), VECTOR_BODY, now=VECTOR_TS + offset)


@pytest.mark.parametrize("offset", [-301, 301])
def test_beyond_five_minutes_either_way_is_refused(offset):
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify([VECTOR_SECRET], headers(), VECTOR_BODY, now=VECTOR_TS + offset)


def test_one_valid_signature_among_several_is_enough():
    signature = f"v1,AAAA v2,xyz v1,{'B' * 44} {VECTOR_SIGNATURE}"
    verify([VECTOR_SECRET], headers(signature), VECTOR_BODY, now=VECTOR_TS)


def test_only_invalid_signatures_are_refused():
    with pytest.raises(InvalidSignature):
        verify([VECTOR_SECRET], headers(f"v1,{'B' * 44} v1,garbage!"), VECTOR_BODY, now=VECTOR_TS)


def test_a_body_changed_by_one_byte_is_refused():
    with pytest.raises(InvalidSignature):
        verify([VECTOR_SECRET], headers(), b'{"test": 2432232315}', now=VECTOR_TS)


def test_reserialised_json_is_refused():
    reserialised = json.dumps(json.loads(VECTOR_BODY), separators=(",", ":")).encode()
    assert reserialised != VECTOR_BODY
    with pytest.raises(InvalidSignature):
        verify([VECTOR_SECRET], headers(), reserialised, now=VECTOR_TS)


def test_another_secret_is_refused_and_any_listed_secret_is_accepted():
    other = generate_secret()
    with pytest.raises(InvalidSignature):
        verify([other], headers(), VECTOR_BODY, now=VECTOR_TS)
    verify([other, VECTOR_SECRET], headers(), VECTOR_BODY, now=VECTOR_TS)


def test_changed_id_or_timestamp_is_refused():
    with pytest.raises(InvalidSignature):
        verify([VECTOR_SECRET], headers(msg_id="msg_other"), VECTOR_BODY, now=VECTOR_TS)
    with pytest.raises(InvalidSignature):
        verify([VECTOR_SECRET], headers(ts=VECTOR_TS + 1), VECTOR_BODY, now=VECTOR_TS)


def test_malformed_timestamp_is_refused():
    with pytest.raises(InvalidSignature):
        verify([VECTOR_SECRET], headers(ts="12ab"), VECTOR_BODY, now=VECTOR_TS)


def test_generated_secrets_round_trip():
    secret = generate_secret()
    assert secret.startswith("whsec_")
    signature = sign(secret, "msg_1", 1700000000, b"{}")
    verify([secret], headers(signature, "msg_1", 1700000000), b"{}", now=1700000000)


def test_signed_headers_verify_and_use_the_given_id_and_time():
    from integrations.signing import generate_secret, signed_headers

    secret = generate_secret()
    headers = signed_headers(secret, b"{}", msg_id="msg_1", timestamp=1700000000)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == "1700000000"
    verify([secret], headers, b"{}", now=1700000000)
    fresh = signed_headers(secret, b"{}")
    assert fresh["webhook-id"].startswith("msg_")
    verify([secret], fresh, b"{}")


def test_one_list_of_services():
    from integrations.models import Service
    from integrations.providers import PROVIDERS
    from integrations.sandbox import SERVICES as SANDBOX_SERVICES
    from integrations.service_names import SERVICES

    assert tuple(Service.values) == SERVICES == SANDBOX_SERVICES
    assert tuple(PROVIDERS) == SERVICES
