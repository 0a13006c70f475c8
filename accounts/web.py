"""Browser pages on tenant hosts: sign-in, the signed-in home page and sign-out (Django sessions)."""

from urllib.parse import urlencode

from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_http_methods, require_POST

from audit import services as audit
from integrations.health import service_health

from .models import ROLE_RANK, TENANT_ROLES, Role
from .services import normalize_email
from .sso.redirects import safe_next
from .sso.selectors import enabled_protocols
from .sso.services import REFUSAL_MESSAGES

PROTOCOL_LABELS = {"oidc": "OpenID Connect", "saml": "SAML"}


@never_cache
@ensure_csrf_cookie
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    """`/login/`: email and password, plus one button per SSO protocol the tenant enabled."""
    next_path = safe_next(request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET" and request.user.is_authenticated:
        return HttpResponseRedirect(next_path)
    error = REFUSAL_MESSAGES.get(request.GET.get("sso_error", ""), "") if request.method == "GET" else ""
    email = ""
    status = 200
    if request.method == "POST":
        email = request.POST.get("email", "")[:254]
        user = auth.authenticate(
            request, username=normalize_email(email), password=request.POST.get("password", "")
        )
        if user is not None and user.role in TENANT_ROLES:
            auth.login(request, user)
            audit.audit_record(
                action="access", object_type="user", object_id=user.pk,
                changes={"event": "browser_login"}, actor=user.email,
            )  # fmt: skip
            return HttpResponseRedirect(next_path)
        error, status = "Invalid email or password.", 401
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
    return render(request, "accounts/login.html", context, status=status)


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
