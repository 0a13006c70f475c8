"""The admin sites' sign-in form: the same service, limits and audit as every other way in."""

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from saas.ratelimits import RateLimited

from .services import LoginFailed, auth_authenticate


class AdminSignInForm(AdminAuthenticationForm):
    """`/admin/login/` on both hosts, through `auth_authenticate(channel="admin")`.

    Over a sign-in limit the form shows the wait as its error, and `rate_limited` tells the view
    to answer 429.
    """

    rate_limited: RateLimited | None = None
    request: HttpRequest  # the admin's login view always passes it

    def clean(self) -> dict[str, Any]:
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is not None and password:
            try:
                self.user_cache = auth_authenticate(
                    request=self.request,
                    email=email,
                    password=password,
                    tenant=getattr(self.request, "tenant", None),
                    channel="admin",
                )
            except RateLimited as exc:
                self.rate_limited = exc
                raise ValidationError(
                    "Too many sign-in attempts. Try again in %(seconds)s seconds.",
                    code="rate_limited",
                    params={"seconds": exc.wait},
                ) from None
            except LoginFailed:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data
