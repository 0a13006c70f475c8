"""Browser pages on tenant hosts: sign-in, the signed-in home page and sign-out (Django sessions),
password reset and accepting an invitation (both end signed in)."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import auth
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from integrations.health import service_health
from saas.ratelimits import RateLimited, counted_by
from saas.typing import request_tenant, routed_tenant

from .models import User
from .roles import is_tenant_admin
from .services import (
    INVITATION_LINK_INVALID,
    RESET_LINK_INVALID,
    InvalidLink,
    LoginFailed,
    auth_authenticate,
    auth_login_record,
    invitation_accept,
    invitation_for_token,
    password_reset_confirm,
    password_reset_request,
    password_reset_user,
)
from .sso.redirects import safe_next
from .sso.selectors import enabled_protocols
from .sso.services import REFUSAL_MESSAGES

PROTOCOL_LABELS = {"oidc": "OpenID Connect", "saml": "SAML"}


@never_cache
@ensure_csrf_cookie
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
@counted_by(None)  # never refused for someone else's traffic; `auth_authenticate` counts the attempts
def login_page(request: HttpRequest) -> HttpResponse:
    """`/login/`: email and password, plus one button per SSO protocol the tenant enabled.

    Sign-in goes through `auth_authenticate` (limits, audit); over a limit the form says how long
    to wait, with status 429.
    """
    next_path = safe_next(request.POST.get("next") or request.GET.get("next"))
    if request.method in ("GET", "HEAD") and request.user.is_authenticated:
        return HttpResponseRedirect(next_path)
    error = REFUSAL_MESSAGES.get(request.GET.get("sso_error", ""), "") if request.method == "GET" else ""
    email = ""
    status = 200
    retry_after = None
    if request.method == "POST":
        email = request.POST.get("email", "")[:254]
        try:
            user = auth_authenticate(
                request=request,
                email=email,
                password=request.POST.get("password", ""),
                tenant=request_tenant(request),
                channel="browser",
            )
        except RateLimited as exc:
            retry_after = exc.wait
            error, status = f"Too many sign-in attempts. Try again in {exc.wait} seconds.", 429
        except LoginFailed:
            error, status = "Invalid email or password.", 401
        else:
            auth.login(request, user)
            return HttpResponseRedirect(next_path)
    sso_links = [
        {
            "protocol": p,
            "label": PROTOCOL_LABELS[p],
            "url": f"/sso/{p}/login/?" + urlencode({"next": next_path}),
        }
        for p in enabled_protocols()
    ]
    context = {
        "tenant": request_tenant(request),
        "next": next_path,
        "error": error,
        "email": email,
        "sso_links": sso_links,
    }
    response = render(request, "accounts/login.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_http_methods(["GET", "HEAD"])
def home_page(request: HttpRequest) -> HttpResponse:
    """`/`: who is signed in; owners and admins also see the integrations' health section."""
    user = request.user
    if not isinstance(user, User):  # AnonymousUser: nobody is signed in
        return HttpResponseRedirect("/login/?" + urlencode({"next": request.get_full_path()}))
    is_admin = is_tenant_admin(user)
    context = {
        "tenant": request_tenant(request),
        "is_admin": is_admin,
        "sso": request.session.get("sso_login"),
        "integrations": service_health() if is_admin else [],
    }
    return render(request, "accounts/home.html", context)


@csrf_protect
@require_POST
def logout_page(request: HttpRequest) -> HttpResponse:
    """`POST /logout/`: ends the browser session (a form with the CSRF token, never a GET)."""
    auth.logout(request)
    return HttpResponseRedirect("/login/")


# ---- Password reset and invitations ----

_PASSWORD_BACKEND = "django.contrib.auth.backends.ModelBackend"  # noqa: S105 (a class path)


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [message for messages in exc.message_dict.values() for message in messages]
    return list(exc.messages)


def _sign_in(request: HttpRequest, user: User, *, via: str) -> HttpResponse:
    auth.login(request, user, backend=_PASSWORD_BACKEND)
    auth_login_record(user=user, channel="browser", details={"via": via})
    return HttpResponseRedirect("/")


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    tenant = request_tenant(request)
    response = render(request, template, {"tenant": tenant, **context}, status=status)
    if context.get("retry_after") is not None:
        response["Retry-After"] = str(context["retry_after"])
    return response


def _new_password(request: HttpRequest) -> tuple[str, list[str]]:
    password = request.POST.get("password", "")[:1024]
    if password != request.POST.get("password_confirm", "")[:1024]:
        return password, ["The two passwords do not match."]
    return password, []


@never_cache
@ensure_csrf_cookie
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
@counted_by(None)  # `password_reset_request` counts the attempts, like a sign-in
def password_reset_page(request: HttpRequest) -> HttpResponse:
    """`/password/reset/`: the "Forgot password?" form; the same answer whether or not the email
    has an account."""
    context: dict[str, Any] = {"email": "", "errors": [], "sent": False}
    if request.method == "POST":
        context["email"] = email = request.POST.get("email", "")[:254].strip()
        try:
            tenant = routed_tenant(request)
            password_reset_request(request=request, tenant=tenant, email=email)
        except RateLimited as exc:
            context.update(
                errors=[f"Too many attempts. Try again in {exc.wait} seconds."], retry_after=exc.wait
            )
            return _page(request, "accounts/password_reset.html", context, 429)
        context["sent"] = True
    return _page(request, "accounts/password_reset.html", context)


@never_cache
@ensure_csrf_cookie
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
@counted_by(None)  # `password_reset_confirm` counts the attempts, like a sign-in
def password_reset_confirm_page(request: HttpRequest, token: str) -> HttpResponse:
    """`/password/reset/<token>/`: the link of the reset mail. GET shows the form (and spends nothing:
    mail scanners open links), POST sets the password and signs the user in."""
    template = "accounts/password_reset_confirm.html"
    holder = password_reset_user(token=token)
    if request.method != "POST":
        if holder is None:
            return _page(request, template, {"invalid": RESET_LINK_INVALID}, 400)
        return _page(request, template, {"email": holder.email, "errors": []})
    password, errors = _new_password(request)
    email = holder.email if holder is not None else ""
    if errors and holder is not None:
        return _page(request, template, {"email": email, "errors": errors}, 400)
    try:
        tenant = routed_tenant(request)
        user = password_reset_confirm(request=request, tenant=tenant, token=token, password=password)
    except RateLimited as exc:
        context = {"email": email, "errors": [f"Too many attempts. Try again in {exc.wait} seconds."]}
        return _page(request, template, {**context, "retry_after": exc.wait}, 429)
    except InvalidLink as exc:
        return _page(request, template, {"invalid": exc.message}, 400)
    except ValidationError as exc:
        return _page(request, template, {"email": email, "errors": _errors(exc)}, 400)
    return _sign_in(request, user, via="password_reset")


@never_cache
@ensure_csrf_cookie
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
@counted_by(None)  # `invitation_accept` counts the attempts, like a sign-in
def invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    """`/invitations/<token>/`: the link of the invitation mail. GET shows who is invited as what,
    POST creates the account and signs it in."""
    template = "accounts/invitation.html"
    invitation = invitation_for_token(token=token)
    if invitation is None:
        return _page(request, template, {"invalid": INVITATION_LINK_INVALID}, 400)
    context: dict[str, Any] = {
        "invitation": invitation,
        "first_name": invitation.first_name,
        "last_name": invitation.last_name,
        "errors": [],
    }
    if request.method != "POST":
        return _page(request, template, context)
    context["first_name"] = request.POST.get("first_name", "")[:150].strip()
    context["last_name"] = request.POST.get("last_name", "")[:150].strip()
    password, context["errors"] = _new_password(request)
    if context["errors"]:
        return _page(request, template, context, 400)
    try:
        user = invitation_accept(
            request=request,
            tenant=routed_tenant(request),
            token=token,
            password=password,
            first_name=context["first_name"],
            last_name=context["last_name"],
            channel="browser",
        )
    except RateLimited as exc:
        context.update(errors=[f"Too many attempts. Try again in {exc.wait} seconds."], retry_after=exc.wait)
        return _page(request, template, context, 429)
    except InvalidLink as exc:
        return _page(request, template, {"invalid": exc.message}, 400)
    except ValidationError as exc:
        return _page(request, template, {**context, "errors": _errors(exc)}, 400)
    auth.login(request, user, backend=_PASSWORD_BACKEND)  # the sign-in was audited by the service
    return HttpResponseRedirect("/")
