"""Platform staff in the platform admin (public schema); a tenant's users in that tenant's admin."""

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from saas.admin_sites import platform_site, tenant_site
from saas.errors import ApplicationError
from saas.forms import ServiceCheckedForm

from .models import TENANT_ROLES, Invitation, Role, User
from .services import (
    invitation_create,
    invitation_create_check,
    invitation_revoke,
    normalize_email,
    user_change_check,
    user_create,
    user_create_check,
    user_deactivate,
    user_update,
)

if TYPE_CHECKING:
    from django.contrib.admin.options import _FieldGroups


@admin.register(User, site=platform_site)
class PlatformStaffAdmin(admin.ModelAdmin[User]):
    list_display = ["email", "first_name", "last_name", "is_active", "created_at"]
    search_fields = ["email", "first_name", "last_name"]
    fields = ["email", "first_name", "last_name", "is_active", "created_at", "last_login"]
    readonly_fields = ["email", "created_at", "last_login"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).filter(role=Role.PLATFORM_ADMIN)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # staff are made with `createsuperuser`, which sets a hashed password


# ---- Tenant users in each tenant's admin: every write goes through accounts.services ----


class TenantUserForm(ServiceCheckedForm):
    """Runs the services' rules (role, email, password) as form errors; the service checks them again
    when saving."""

    actor: User  # set per request by TenantUserAdmin.get_form
    service_fields = {"password": "new_password"}

    role = forms.ChoiceField(choices=[(r.value, r.label) for r in TENANT_ROLES], initial=Role.MEMBER)
    new_password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current password. For a new user, leave it empty to send an "
        "invitation by email instead: they choose their own password.",
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "role", "is_active"]

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data["email"])

    def service_check(self, data: dict[str, Any]) -> None:
        email, password = data["email"], data.get("new_password") or None
        if self.instance.pk is None and password is None:  # "Add user" without a password invites
            invitation_create_check(actor=self.actor, role=data["role"], email=email)
        elif self.instance.pk is None:
            user_create_check(actor=self.actor, role=data["role"], email=email, password=password)
        else:
            user_change_check(
                actor=self.actor,
                user=User.objects.get(pk=self.instance.pk),
                role=data["role"],
                is_active=data.get("is_active", True),
                email=email,
                password=password,
            )


class TenantRoleFilter(admin.SimpleListFilter):
    """The tenant's roles only: platform staff never live in a tenant's schema."""

    title = "role"
    parameter_name = "role"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(role.value, role.label) for role in TENANT_ROLES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        return queryset.filter(role=self.value()) if self.value() else queryset


@admin.register(User, site=tenant_site)
class TenantUserAdmin(admin.ModelAdmin[User]):
    form = TenantUserForm
    list_display = ["email", "first_name", "last_name", "role", "is_active", "created_at"]
    list_filter = [TenantRoleFilter, "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["external_id", "created_at", "updated_at", "last_login"]
    actions = ["deactivate_selected"]

    def get_fields(self, request: HttpRequest, obj: User | None = None) -> "_FieldGroups":
        fields: list[str] = ["email", "first_name", "last_name", "role", "is_active", "new_password"]
        return [*fields] if obj is None else [*fields, *self.readonly_fields]

    def get_form(
        self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[User]]:
        form = super().get_form(request, obj, change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # users are deactivated (see the action), never deleted

    def save_model(self, request: HttpRequest, obj: User, form: forms.ModelForm[User], change: bool) -> None:
        data = form.cleaned_data
        fields = {k: data[k] for k in ("email", "first_name", "last_name", "role", "is_active")}
        actor = cast(User, request.user)
        if change:
            password = {"password": data["new_password"]} if data.get("new_password") else {}
            user_update(actor=actor, user=obj, **fields, **password)
            return
        if not data.get("new_password"):
            # An account without a password nobody could use: invite the person instead.
            request._invitation = invitation_create(  # type: ignore[attr-defined]
                actor=actor,
                email=fields["email"],
                role=fields["role"],
                first_name=fields["first_name"],
                last_name=fields["last_name"],
            )
            return
        created = user_create(actor=actor, password=data["new_password"], **fields)
        # The admin logs and redirects to the form's instance: make it the row the service created.
        obj.pk = created.pk
        obj.refresh_from_db()

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, "_invitation", None) is not None:
            return None  # no user row yet: the invitation is in the audit trail
        return super().log_addition(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: User, post_url_continue: str | None = None
    ) -> HttpResponse:
        invitation = getattr(request, "_invitation", None)
        if invitation is None:
            return super().response_add(request, obj, post_url_continue)
        self.message_user(
            request,
            f"No password was given, so no account was created: an invitation to join as {invitation.role} "
            f"was sent to {invitation.email}. Their account exists once they accept it (within "
            f"{(invitation.expires_at - invitation.created_at).days} days).",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse(f"{self.admin_site.name}:accounts_user_changelist"))

    @admin.action(description="Deactivate selected users")
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        actor = cast(User, request.user)
        for user in queryset:
            try:
                user_deactivate(actor=actor, user=user)
            except ApplicationError as exc:
                self.message_user(request, f"{user.email}: {exc.message}", messages.ERROR)


@admin.register(Invitation, site=tenant_site)
class InvitationAdmin(admin.ModelAdmin[Invitation]):
    """Read-only list of the tenant's invitations ("Add user" without a password makes one), with
    the revoke action (the role rules of `invitation_revoke`)."""

    list_display = ["email", "role", "state", "invited_by", "created_at", "expires_at", "accepted_at"]
    list_filter = ["status", "role"]
    search_fields = ["email"]
    actions = ["revoke_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # invitations are sent from "Add user" (without a password) or the API

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False  # revoked, never deleted: the trail keeps what happened

    @admin.action(description="Revoke selected invitations")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        actor = cast(User, request.user)
        for invitation in queryset:
            try:
                invitation_revoke(actor=actor, invitation=invitation)
            except ApplicationError as exc:
                self.message_user(request, f"{invitation.email}: {exc.message}", messages.ERROR)
