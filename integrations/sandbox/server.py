"""The three external services as one real HTTP server (stdlib, threaded, in-memory state).

Service routes (a tenant's `base_url` is `http://HOST:PORT/<service>`):
  GET  /user-service/users/{id}              one user, 404 when unknown
  GET  /user-service/users?page=&page_size=  {"count", "next", "previous", "results"}
  GET  /payment-service/subscriptions/{id}
  POST /communication-service/messages       {"to", "subject", "body", "message_id"?} -> 201;
                                             a repeated Idempotency-Key returns the first message;
                                             then signed message.* webhooks go to the account
  GET  /communication-service/messages/{id}
Control routes:
  POST /_faults {"service", "error_rate", "latency_ms", "status"?, "retry_after"?, "count"?, "match"?}
  POST /_accounts {"api_key", "webhook_url", "secret"}   where message webhooks go, per API key
  POST /_users {"users": [...], "replace"?}  DELETE /_users/{id}   POST /_subscriptions {...}
  POST /_reset {"users"?}   GET /_state
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from integrations.service_names import SERVICES

from .delivery import Deliverer
from .state import Account, SandboxState

logger = logging.getLogger(__name__)


class _Reply(Exception):
    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, message: str) -> _Reply:
    return _Reply(status, {"error": {"code": "sandbox_error", "message": message}})


class Sandbox:
    """Start with `start()` (background thread, for tests) or `serve_forever()` (the command)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed_users: int = 25,
        delivery_delay: float = 0.2,
        account_resolver: Callable[[str], Account | None] | None = None,
    ) -> None:
        self.state = SandboxState(seed_users=seed_users)
        self.fallback_resolver = account_resolver
        self.deliverer = Deliverer(self.state, delay=delivery_delay, resolve_account=self.account_for)
        sandbox = self

        class Handler(_Handler):
            pass

        Handler.sandbox = sandbox
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def account_for(self, api_key: str) -> Account | None:
        with self.state.lock:
            account = self.state.accounts.get(api_key) or self.state.accounts.get("*")
        if account is None and self.fallback_resolver is not None:
            account = self.fallback_resolver(api_key)
        return account

    def start(self) -> Sandbox:
        # A short poll: stop() (shutdown) waits for the loop's next poll, 0.5 s by default.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
        )
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def stop(self) -> None:
        self.deliverer.stop()
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    sandbox: Sandbox
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("sandbox %s", format % args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- plumbing -----------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        service = segments[0] if segments and segments[0] in SERVICES else None
        try:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise _error(400, "body is not JSON") from None
            if service:
                self._service(method, service, segments[1:], query, body, self.path)
            else:
                self._control(method, segments, body)
        except _Reply as reply:
            self._send(reply.status, reply.body, reply.headers)
            if service:
                with self.sandbox.state.lock:
                    self.sandbox.state.log.append(
                        {"service": service, "method": method, "path": self.path, "status": reply.status}
                    )
        except Exception:
            logger.exception("sandbox handler failed")
            self._send(500, {"error": {"code": "sandbox_bug", "message": "internal error"}}, {})

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    # -- the services -------------------------------------------------------------------------

    def _service(
        self,
        method: str,
        service: str,
        rest: list[str],
        query: dict[str, str],
        body: dict[str, Any],
        target: str,
    ) -> None:
        state = self.sandbox.state
        with state.lock:
            state.requests[service] += 1
        latency_ms, fault = state.fault_decision(service, target)
        if latency_ms:
            time.sleep(latency_ms / 1000)
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            raise _Reply(fault.status, {"error": {"code": "fault", "message": "injected fault"}}, headers)
        handler = getattr(self, "_" + service.replace("-", "_"))
        handler(method, rest, query, body)

    def _user_service(self, method: str, rest: list[str], query: dict[str, str], body: Any) -> None:
        state = self.sandbox.state
        if method == "GET" and rest == ["users"]:
            try:
                page = int(query.get("page", "1"))
                page_size = min(100, int(query.get("page_size", "10")))
            except ValueError:
                raise _error(400, "page and page_size must be integers") from None
            if page < 1 or page_size < 1:
                raise _error(400, "page and page_size must be positive")
            count, results = state.users_page(page, page_size)
            link = "/user-service/users?"
            more = page * page_size < count
            raise _Reply(
                200,
                {
                    "count": count,
                    "next": link + urlencode({"page": page + 1, "page_size": page_size}) if more else None,
                    "previous": link + urlencode({"page": page - 1, "page_size": page_size})
                    if page > 1
                    else None,
                    "results": results,
                },
            )
        if method == "GET" and len(rest) == 2 and rest[0] == "users":
            with state.lock:
                user = state.users.get(rest[1])
            if user is None:
                raise _error(404, "no such user")
            raise _Reply(200, user)
        raise _error(404, "no such route")

    def _payment_service(self, method: str, rest: list[str], query: dict[str, str], body: Any) -> None:
        if method == "GET" and len(rest) == 2 and rest[0] == "subscriptions":
            with self.sandbox.state.lock:
                sub = self.sandbox.state.subscriptions.get(rest[1])
            if sub is None:
                raise _error(404, "no such subscription")
            raise _Reply(200, sub)
        raise _error(404, "no such route")

    def _communication_service(self, method: str, rest: list[str], query: dict[str, str], body: Any) -> None:
        state = self.sandbox.state
        if method == "POST" and rest == ["messages"]:
            if not isinstance(body, dict) or not isinstance(body.get("to"), str) or "@" not in body["to"]:
                raise _error(400, "`to` must be an email address")
            api_key = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
            message, created = state.create_message(
                api_key=api_key, idempotency_key=self.headers.get("Idempotency-Key"), body=body
            )
            if created:
                self.sandbox.deliverer.message_accepted(message)
            public = {k: v for k, v in message.items() if k != "api_key"}
            raise _Reply(201 if created else 200, public)
        if method == "GET" and len(rest) == 2 and rest[0] == "messages":
            with state.lock:
                found = state.messages.get(rest[1])
            if found is None:
                raise _error(404, "no such message")
            raise _Reply(200, {k: v for k, v in found.items() if k != "api_key"})
        raise _error(404, "no such route")

    # -- control routes -----------------------------------------------------------------------

    def _control(self, method: str, segments: list[str], body: Any) -> None:
        state = self.sandbox.state
        route = (method, *segments)
        if route in {("GET",), ("GET", "_state")}:
            raise _Reply(200, {"services": list(SERVICES), **state.snapshot()})
        if route == ("POST", "_faults"):
            service = body.get("service")
            if service not in SERVICES:
                raise _error(400, f"service must be one of {', '.join(SERVICES)}")
            options = {
                k: body[k]
                for k in ("error_rate", "latency_ms", "status", "retry_after", "count", "match")
                if body.get(k) is not None
            }
            if "retry_after" in options:
                options["retry_after"] = str(options["retry_after"])
            fault = state.set_fault(service, **options)
            raise _Reply(200, {"service": service, **fault.as_dict()})
        if route == ("POST", "_accounts"):
            try:
                account = Account(webhook_url=body["webhook_url"], secret=body["secret"])
            except KeyError:
                raise _error(400, "webhook_url and secret are required") from None
            with state.lock:
                state.accounts[body.get("api_key") or "*"] = account
            raise _Reply(200, {"api_key": body.get("api_key") or "*", "webhook_url": account.webhook_url})
        if route == ("POST", "_users"):
            with state.lock:
                if body.get("replace"):
                    state.users = {}
                users = [state.upsert_user(u) for u in body.get("users", [])]
            raise _Reply(200, {"users": users})
        if method == "DELETE" and segments[:1] == ["_users"] and len(segments) == 2:
            with state.lock:
                state.users.pop(segments[1], None)
            raise _Reply(204, None)
        if route == ("POST", "_subscriptions"):
            raise _Reply(200, state.upsert_subscription(body))
        if route == ("POST", "_reset"):
            state.reset(users=body.get("users"))
            raise _Reply(200, {"users": len(state.users)})
        raise _error(404, "no such route")
