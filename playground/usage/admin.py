from django.contrib import admin

from .models import UsageDaily


@admin.register(UsageDaily)
class UsageDailyAdmin(admin.ModelAdmin):
    """Read-only: rows are added to as requests end (playground.usage.rollup.record_many)
    and recomputed from the log by rollup.rebuild()."""

    list_display = ["day", "team", "user", "branch", "model", "requests", "errors", "cost"]
    list_select_related = ["team", "user", "branch"]
    list_filter = ["day"]
    search_fields = ["model", "team__slug"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
