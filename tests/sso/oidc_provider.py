"""A real OpenID Connect provider for the tests, on 127.0.0.1 (joserfc signs the tokens).

It serves discovery, JWKS, an authorization endpoint (a tiny HTML sign-in page in interactive
mode, an immediate redirect otherwise), a token endpoint that checks the client secret, the
redirect URI and the PKCE verifier, and userinfo. Tests choose who signs in next (`login_as`)
and can make the provider misbehave (`sign_with`, `claims_override`) to prove each refusal.
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class OIDCProvider:
    def __init__(
        self,
        *,
        client_id: str = "saas-client",
        client_secret: str = "s3cret-client-secret",  # noqa: S107
    ) -> None:
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": secrets.token_hex(6), "use": "sig", "alg": "RS256"}
        )
        self.client_id, self.client_secret = client_id, client_secret
        self.codes: dict[str, dict[str, Any]] = {}
        self.user: dict[str, Any] = {}
        self.sign_with = "RS256"  # or "none", "HS256", "foreign"
        self.claims_override: dict[str, Any] = {}
        self.foreign: OIDCProvider | None = None  # sign_with="foreign": a token made by that provider
        self.interactive = False
        self.token_requests: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        # shutdown() waits for the loop's next poll: 0.05 s instead of the default 0.5 s per provider.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def login_as(
        self,
        sub: str,
        email: str,
        *,
        email_verified: Any = True,
        groups: list[str] | None = None,
        **extra: Any,
    ) -> None:
        self.user = {
            "sub": sub,
            "email": email,
            "email_verified": email_verified,
            "groups": groups or [],
            **extra,
        }

    # -- tokens ---------------------------------------------------------------------------------
    def id_token(self, *, nonce: str | None, audience: str | None = None, **override: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience or self.client_id,
            "iat": now,
            "exp": now + 300,
            **self.user,
            **({"nonce": nonce} if nonce is not None else {}),
            **self.claims_override,
            **override,
        }
        claims = {k: v for k, v in claims.items() if v is not None}
        if self.sign_with == "none":
            return _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(claims) + "."
        if self.sign_with == "HS256":  # the classic confusion: HMAC with the client secret
            key = OctKey.import_key(self.client_secret.encode())
            return jwt.encode({"alg": "HS256", "kid": self.key.kid}, claims, key, algorithms=["HS256"])
        if self.sign_with == "foreign" and self.foreign is not None:
            foreign = self.foreign
            claims = {**claims, "iss": foreign.issuer, "aud": foreign.client_id}
            return jwt.encode({"alg": "RS256", "kid": foreign.key.kid}, claims, foreign.key)
        return jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.key)

    # -- HTTP -----------------------------------------------------------------------------------
    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token",
            "userinfo_endpoint": self.issuer + "/userinfo",
            "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, params: dict[str, str]) -> str:
        """The redirect back to the client (302 Location) for an authorization request."""
        assert params["response_type"] == "code"
        assert params["client_id"] == self.client_id, params
        assert params["code_challenge_method"] == "S256"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {**params, "user": dict(self.user)}
        return params["redirect_uri"] + "?" + urlencode({"code": code, "state": params["state"]})

    def token(self, form: dict[str, str], auth_header: str | None) -> tuple[int, dict[str, Any]]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if auth_header and auth_header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(auth_header[6:]).decode().partition(":")
        self.token_requests.append(dict(form))
        grant = self.codes.pop(form.get("code", ""), None)
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {"error": "invalid_client"}
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE"}
        self.user = grant["user"]
        return 200, {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": self.id_token(nonce=grant.get("nonce")),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(
                self, status: int, body: Any, content_type: str = "application/json", **headers: str
            ) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/.well-known/openid-configuration":
                    self._send(200, provider.discovery())
                elif url.path == "/jwks":
                    self._send(200, {"keys": [provider.key.as_dict(private=False)]})
                elif url.path == "/authorize" and provider.interactive:
                    fields = "".join(
                        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                        for k, v in params.items()
                    )
                    page = (
                        "<!doctype html><title>Test IdP</title><h1>Test identity provider</h1>"
                        f'<form method="post" action="/authorize">{fields}'
                        f'<button id="approve">Sign in as {html.escape(provider.user.get("email", ""))}'
                        "</button></form>"
                    )
                    self._send(200, page, "text/html")
                elif url.path == "/authorize":
                    self._send(302, "", "text/plain", Location=provider.authorize(params))
                elif url.path == "/userinfo":
                    self._send(200, provider.user)
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/token":
                    status, body = provider.token(form, self.headers.get("Authorization"))
                    self._send(status, body)
                elif self.path == "/authorize":
                    self._send(302, "", "text/plain", Location=provider.authorize(form))
                else:
                    self._send(404, {"error": "not_found"})

        return Handler
