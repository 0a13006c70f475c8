"""Browser pages on tenant hosts: sign-in, the signed-in home page and sign-out (Django sessions)."""

from urllib.parse import urlencode

from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from integrations.health import service_health
from saas.ratelimits import RateLimited, counted_by

from .models import ROLE_RANK, Role
from .services import LoginFailed, auth_authenticate
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
                tenant=request.tenant,  # type: ignore[attr-defined]
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
        "tenant": request.tenant,
        "next": next_path,
        "error": error,
        "email": email,
        "sso_links": sso_links,
    }  # type: ignore[attr-defined]
    response = render(request, "accounts/login.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_http_methods(["GET", "HEAD"])
def home_page(request: HttpRequest) -> HttpResponse:
    """`/`: who is signed in; owners and admins also see the integrations' health section."""
    if not request.user.is_authenticated:
        return HttpResponseRedirect("/login/?" + urlencode({"next": request.get_full_path()}))
    user = request.user
    is_admin = ROLE_RANK.get(user.role, 0) >= ROLE_RANK[Role.ADMIN]  # type: ignore[union-attr]
    context = {
        "tenant": request.tenant,  # type: ignore[attr-defined]
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
