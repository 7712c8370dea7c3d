from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from audit.admin_mixins import AuditedAdminMixin

from .models import Membership, Team, User


@admin.register(User)
class UserAdmin(AuditedAdminMixin, BaseUserAdmin):
    list_display = ("username", "email", "org_role", "is_active", "last_login")
    list_filter = ("org_role", "is_active", "is_staff")
    fieldsets = (*BaseUserAdmin.fieldsets, ("MLSec Portal", {"fields": ("org_role",)}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, ("MLSec Portal", {"fields": ("email", "org_role")}))


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


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


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("team", "user", "role")
    list_filter = ("role", "team")
    autocomplete_fields = ("user", "team")
