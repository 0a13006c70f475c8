"""saas.crypto: one sealing rule for stored secrets, with key rotation, that still opens what the
two former helpers (accounts/sso/crypto.py, integrations/crypto.py) stored."""

import base64
import hashlib

from cryptography.fernet import Fernet
from django.test import override_settings

from accounts.sso.models import CLIENT_SECRET_PURPOSE
from integrations.models import API_KEY_PURPOSE
from saas.crypto import secret_decrypt, secret_encrypt


def _former_fernet(label: bytes, secret: str) -> Fernet:
    """How both former helpers derived their key: sha256(label + secret)."""
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(label + secret.encode()).digest()))


def test_round_trip_and_empty():
    for purpose in (CLIENT_SECRET_PURPOSE, API_KEY_PURPOSE):
        sealed = secret_encrypt("s3cret", purpose=purpose)
        assert sealed != "s3cret"
        assert secret_decrypt(sealed, purpose=purpose) == "s3cret"
    assert secret_encrypt("", purpose=API_KEY_PURPOSE) == ""
    assert secret_decrypt("", purpose=API_KEY_PURPOSE) == ""


def test_purposes_do_not_open_each_other():
    sealed = secret_encrypt("s3cret", purpose=CLIENT_SECRET_PURPOSE)
    assert secret_decrypt(sealed, purpose=API_KEY_PURPOSE) == ""


def test_values_stored_by_the_former_helpers_still_open(settings):
    old_sso = _former_fernet(b"sso-secret:", settings.SECRET_KEY).encrypt(b"idp-secret").decode()
    old_api = (
        _former_fernet(b"integrations.api_key:", settings.INTEGRATIONS_ENCRYPTION_KEY)
        .encrypt(b"api-key")
        .decode()
    )
    assert secret_decrypt(old_sso, purpose=CLIENT_SECRET_PURPOSE) == "idp-secret"
    assert secret_decrypt(old_api, purpose=API_KEY_PURPOSE) == "api-key"


def test_rotation_keeps_old_values_readable_and_seals_with_the_new_key():
    with override_settings(INTEGRATIONS_ENCRYPTION_KEY="old-key"):
        sealed = secret_encrypt("api-key", purpose=API_KEY_PURPOSE)
    with override_settings(
        INTEGRATIONS_ENCRYPTION_KEY="new-key", INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS=["old-key"]
    ):
        assert secret_decrypt(sealed, purpose=API_KEY_PURPOSE) == "api-key"
        resealed = secret_encrypt("api-key", purpose=API_KEY_PURPOSE)
    with override_settings(INTEGRATIONS_ENCRYPTION_KEY="new-key", INTEGRATIONS_ENCRYPTION_KEY_FALLBACKS=[]):
        assert secret_decrypt(resealed, purpose=API_KEY_PURPOSE) == "api-key"
        assert secret_decrypt(sealed, purpose=API_KEY_PURPOSE) == ""  # the old key is gone: enter it again
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]):
        new = secret_encrypt("idp", purpose=CLIENT_SECRET_PURPOSE)
    with override_settings(SECRET_KEY="newer-secret", SECRET_KEY_FALLBACKS=["new-secret"]):
        assert secret_decrypt(new, purpose=CLIENT_SECRET_PURPOSE) == "idp"
