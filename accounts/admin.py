from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from knox.models import AuthToken as KnoxAuthToken

from audit.admin_mixins import AuditedAdminMixin

from .models import APIToken, Membership, Team, User
from .tokens import tokens_revoke_all


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    list_display = ("username", "email", "org_role", "is_active", "last_login")
    list_filter = ("org_role", "is_active", "is_staff")
    fieldsets = (*BaseUserAdmin.fieldsets, ("MLSec Portal", {"fields": ("org_role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("MLSec Portal", {"fields": ("email", "org_role")}))
    actions = ["revoke_api_tokens"]

    @admin.action(description="Revoke API tokens", permissions=["change"])
    def revoke_api_tokens(self, request, queryset):
        revoked = sum(tokens_revoke_all(actor=request.user, user=user, reason="revoked by an administrator")
                      for user in queryset)
        self.message_user(request, f"{revoked} API token(s) revoked.", messages.SUCCESS)


class OwnMembershipRefusedFormSet(forms.BaseInlineFormSet):
    """Inline memberships: nobody adds, changes or removes their own (Team.membership_change_refusal)."""

    actor = None

    def clean(self):
        super().clean()
        for form in self.forms:
            if not form.has_changed() and not self._should_delete_form(form):
                continue
            users = {getattr(form, "cleaned_data", {}).get("user"), form.instance.user if form.instance.user_id else None}
            for user in users - {None}:
                refusal = self.instance.membership_change_refusal(self.actor, user)  # self.instance: the team
                if refusal:
                    raise forms.ValidationError(refusal)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)
    formset = OwnMembershipRefusedFormSet

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = request.user
        return formset


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        # Membership changes made inline are audited one by one.
        from audit.services import audit_record

        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audit_record(actor=request.user, action="admin:membership.delete", object_type="accounts.membership",
                         object_id=str(obj.pk), object_repr=str(obj), before={"role": obj.role, "user": obj.user_id})
            obj.delete()
        for obj in instances:
            created = obj.pk is None
            obj.save()
            audit_record(actor=request.user, action=f"admin:membership.{'create' if created else 'change'}", obj=obj,
                         after={"team": obj.team_id, "user": obj.user_id, "role": obj.role})
        formset.save_m2m()


class MembershipAdminForm(forms.ModelForm):
    actor = None

    def clean(self):
        cleaned = super().clean()
        team = cleaned.get("team") or (self.instance.team if self.instance.team_id else None)
        for user in {cleaned.get("user"), self.instance.user if self.instance.user_id else None} - {None}:
            refusal = team.membership_change_refusal(self.actor, user) if team else None
            if refusal:
                raise forms.ValidationError(refusal)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("team", "user", "role")
    list_filter = ("role", "team")
    autocomplete_fields = ("user", "team")
    form = MembershipAdminForm

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        return form

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or obj.user_id != request.user.pk)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.user_id != request.user.pk)

    def delete_model(self, request, obj):
        refusal = obj.team.membership_change_refusal(request.user, obj.user)
        if refusal:  # "delete selected" asks only once for the whole list
            raise PermissionDenied(refusal)
        super().delete_model(request, obj)


# django-rest-knox registers its own token admin (digests, key prefixes, and a form that mints a
# token for anyone); the portal's token model replaces knox's, and its admin below shows neither.
if admin.site.is_registered(KnoxAuthToken):
    admin.site.unregister(KnoxAuthToken)


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    """Who holds API tokens and until when. Nothing here reveals a key or a digest, and nothing mints one;
    tokens are revoked from the user (action "Revoke API tokens") or by their holder (DELETE auth/token/)."""

    list_display = ("user", "created", "expiry", "mfa_verified")
    fields = ("user", "created", "expiry", "mfa_verified")
    list_display_links = None
    list_filter = ("mfa_verified",)
    search_fields = ("user__username",)
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # The list only: a token's own page would be addressed by its digest.
        return obj is None and super().has_view_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False
