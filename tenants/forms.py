from django import forms

from .models import Tenant


class TenantCreateForm(forms.ModelForm):
    """The admin's add form: what `tenant_create` needs, including the first owner."""

    owner_email = forms.EmailField()
    owner_password = forms.CharField(widget=forms.PasswordInput, strip=False)
    extra_domains = forms.CharField(
        required=False, help_text="Custom domains, comma separated; the sub-domain is added for you."
    )

    class Meta:
        model = Tenant
        fields = ["slug", "name", "plan", "rate_limit_per_minute"]
