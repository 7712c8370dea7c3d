from django.contrib import admin

from audit.admin_mixins import AuditedAdminMixin

from .models import CatalogRelease, Framework, Practice, PracticeMapping


class MappingInline(admin.TabularInline):
    model = PracticeMapping
    extra = 0


@admin.register(Practice)
class PracticeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("code", "title", "category", "weight", "is_custom", "is_active")
    list_filter = ("category", "is_custom", "is_active")
    search_fields = ("code", "title")
    inlines = [MappingInline]


@admin.register(Framework)
class FrameworkAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("key", "name", "version")


@admin.register(CatalogRelease)
class CatalogReleaseAdmin(admin.ModelAdmin):
    list_display = ("version", "title", "practice_count", "loaded_at", "sha256")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
