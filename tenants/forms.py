"""The platform admin's tenant forms: validated by tenants.services, so they show the API's messages."""

import re
from typing import Any

from django import forms

from saas.forms import ServiceCheckedForm

from .models import Tenant
from .selectors import tenant_custom_domains
from .services import tenant_create_check, tenant_update_check


def split_domains(text: str) -> list[str]:
    """Domains typed comma or line separated (each checked as typed, as the API's list items are)."""
    return [d.strip() for d in re.split(r"[,\n]", text) if d.strip()]


class TenantCreateForm(ServiceCheckedForm):
    """The admin's add form: what `tenant_create` needs, including the first owner."""

    service_fields = {"domains": "extra_domains"}

    owner_email = forms.EmailField()
    owner_password = forms.CharField(widget=forms.PasswordInput, strip=False)
    extra_domains = forms.CharField(
        required=False, help_text="Custom domains, comma separated; the sub-domain is added for you."
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name", "plan", "rate_limit_per_minute"]

    def service_check(self, data: dict[str, Any]) -> None:
        tenant_create_check(
            slug=data["slug"],
            plan=data["plan"],
            owner_email=data["owner_email"],
            owner_password=data["owner_password"],
            domains=split_domains(data.get("extra_domains", "")),
            rate_limit_per_minute=data.get("rate_limit_per_minute"),
        )


class TenantChangeForm(ServiceCheckedForm):
    """The admin's change form; the custom domains are edited here and saved by `tenant_update`."""

    service_fields = {"domains": "custom_domains"}

    custom_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The tenant's own domains, comma or line separated; its sub-domain always stays.",
    )

    class Meta:
        model = Tenant
        fields = ["name", "plan", "rate_limit_per_minute"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["custom_domains"].initial = "\n".join(tenant_custom_domains(tenant=self.instance))

    def service_check(self, data: dict[str, Any]) -> None:
        tenant_update_check(
            tenant=self.instance,
            plan=data["plan"],
            rate_limit_per_minute=data.get("rate_limit_per_minute"),
            domains=split_domains(data.get("custom_domains", "")),
        )
