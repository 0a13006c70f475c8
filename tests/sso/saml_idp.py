"""A real SAML 2 identity provider for the tests: pysaml2's IdP side, signing with xmlsec1.

`response(...)` builds a signed Response for an SP (and can be told to leave it unsigned, to
expire it, to address another audience...). As an HTTP server on 127.0.0.1 it also serves its
metadata and an SSO endpoint (HTTP-Redirect binding) with a small sign-in page that POSTs the
Response to the SP's ACS, as a browser would see a real IdP do.
"""

import base64
import datetime
import html
import secrets
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import saml2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from saml2 import xmldsig
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.s_utils import sid
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.server import Server
from saml2.sigver import pre_signature_part, signed_instance_factory


def _key_and_cert(directory: Path, name: str) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / f"{name}.key", directory / f"{name}.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _utc(delta_seconds: int) -> str:
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=delta_seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class SamlIdP:
    def __init__(self, name: str = "idp") -> None:
        self.dir = Path(tempfile.mkdtemp(prefix=f"saml-{name}-"))
        self.key_file, self.cert_file = _key_and_cert(self.dir, name)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.entity_id = f"{self.base}/metadata"
        config = IdPConfig()
        config.load(
            {
                "entityid": self.entity_id,
                "xmlsec_binary": shutil.which("xmlsec1"),
                "key_file": str(self.key_file),
                "cert_file": str(self.cert_file),
                "service": {
                    "idp": {
                        "name": f"Test IdP {name}",
                        "endpoints": {
                            "single_sign_on_service": [
                                (f"{self.base}/sso/redirect", saml2.BINDING_HTTP_REDIRECT)
                            ],
                        },
                        "name_id_format": [NAMEID_FORMAT_PERSISTENT],
                        "want_authn_requests_signed": False,
                        "policy": {"default": {"lifetime": {"minutes": 5}, "attribute_restrictions": None}},
                    }
                },
                "metadata": {},
            }
        )
        self.config = config
        self.server = Server(config=config)
        self.metadata_xml = str(entity_descriptor(config))
        self.user: dict[str, Any] = {}
        self._sps: set[tuple[str, str]] = set()
        # shutdown() waits for the loop's next poll: 0.05 s instead of the default 0.5 s per provider.
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def login_as(self, name_id: str, email: str, groups: list[str] | None = None) -> None:
        self.user = {"name_id": name_id, "email": email, "groups": groups or []}

    def response(
        self,
        *,
        acs_url: str,
        audience: str,
        in_response_to: str | None,
        sign_response: bool = True,
        sign_assertion: bool = True,
        not_on_or_after: int | None = None,
        destination: str | None = None,
    ) -> str:
        """A base64 SAMLResponse for the current user; `not_on_or_after` in seconds from now."""
        self._know_sp(audience, acs_url)
        identity = {"email": [self.user["email"]], "groups": list(self.user["groups"])}
        response = self.server.create_authn_response(
            identity=identity,
            in_response_to=in_response_to,
            destination=destination or acs_url,
            sp_entity_id=audience,
            name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text=self.user["name_id"]),
            authn={"class_ref": saml2.saml.AUTHN_PASSWORD, "authn_auth": self.entity_id},
            sign_response=False,
            sign_assertion=False,
        )
        if isinstance(response, str):
            response = saml2.samlp.response_from_string(response)
        assertion = response.assertion
        assertion = assertion[0] if isinstance(assertion, list) else assertion
        for confirmation in assertion.subject.subject_confirmation:
            confirmation.subject_confirmation_data.recipient = acs_url
            if in_response_to is None:
                confirmation.subject_confirmation_data.in_response_to = None
        if not_on_or_after is not None:
            assertion.conditions.not_on_or_after = _utc(not_on_or_after)
            assertion.conditions.not_before = _utc(not_on_or_after - 600)
            for confirmation in assertion.subject.subject_confirmation:
                confirmation.subject_confirmation_data.not_on_or_after = _utc(not_on_or_after)
        to_sign = []
        if sign_assertion:
            assertion.signature = pre_signature_part(
                assertion.id, self.server.sec.my_cert, 1, xmldsig.DIGEST_SHA256, xmldsig.SIG_RSA_SHA256
            )
            to_sign.append((saml2.class_name(assertion), assertion.id))
        if sign_response:
            response.signature = pre_signature_part(
                response.id, self.server.sec.my_cert, 2, xmldsig.DIGEST_SHA256, xmldsig.SIG_RSA_SHA256
            )
            to_sign.append((saml2.class_name(response), response.id))
        xml = signed_instance_factory(response, self.server.sec, to_sign) if to_sign else str(response)
        return base64.b64encode(xml.encode() if isinstance(xml, str) else xml).decode()

    def _know_sp(self, entity_id: str, acs_url: str) -> None:
        """pysaml2's IdP looks its SPs up in metadata: a minimal record of (entity ID, ACS)."""
        if (entity_id, acs_url) in self._sps:
            return
        self._sps.add((entity_id, acs_url))
        self.server.metadata.load(
            "inline",
            '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'entityID="{html.escape(entity_id)}">'
            '<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
            f'<md:AssertionConsumerService Binding="{saml2.BINDING_HTTP_POST}" '
            f'Location="{html.escape(acs_url)}" index="0"/>'
            "</md:SPSSODescriptor></md:EntityDescriptor>",
        )

    # -- HTTP: metadata, and an SSO endpoint for the browser test ----------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: str, content_type: str = "text/html") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/metadata":
                    self._send(200, idp.metadata_xml, "application/samlmetadata+xml")
                elif url.path == "/sso/redirect":
                    parsed = idp.server.parse_authn_request(
                        params["SAMLRequest"], saml2.BINDING_HTTP_REDIRECT
                    )
                    request = parsed.message
                    fields = {
                        "request_id": request.id,
                        "acs": request.assertion_consumer_service_url,
                        "audience": request.issuer.text,
                        "relay_state": params.get("RelayState", ""),
                    }
                    hidden = "".join(
                        f'<input type="hidden" name="{k}" value="{html.escape(v or "")}">'
                        for k, v in fields.items()
                    )
                    page = (
                        "<!doctype html><title>Test SAML IdP</title><h1>Test SAML identity provider</h1>"
                        f'<form method="post" action="/sso/approve">{hidden}'
                        f'<button id="approve">Sign in as {html.escape(idp.user.get("email", ""))}'
                        "</button></form>"
                    )
                    self._send(200, page)
                else:
                    self._send(404, "not found", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/sso/approve":
                    self._send(404, "not found", "text/plain")
                    return
                saml_response = idp.response(
                    acs_url=form["acs"], audience=form["audience"], in_response_to=form["request_id"]
                )
                page = (
                    "<!doctype html><title>Test SAML IdP</title>"
                    f'<form method="post" action="{html.escape(form["acs"])}">'
                    f'<input type="hidden" name="SAMLResponse" value="{saml_response}">'
                    '<input type="hidden" name="RelayState" '
                    f'value="{html.escape(form.get("relay_state", ""))}">'
                    '<button id="continue">Continue to the service</button></form>'
                )
                self._send(200, page)

        return Handler


def new_request_id() -> str:
    return sid()


__all__ = ["SamlIdP", "new_request_id", "secrets"]
