"""The request log in the admin: read-only (it is an audit record). It holds no tokens."""

from django.contrib import admin

from .models import Completion, Run, Vote


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["code", "team", "user", "branch", "created"]
    list_select_related = ["team", "user", "branch"]
    search_fields = ["code", "team__slug", "user__username"]


@admin.register(Completion)
class CompletionAdmin(ReadOnlyAdmin):
    list_display = ["started", "team", "user", "branch", "model", "status", "http_status", "cost"]
    list_filter = ["status", "cost_source"]
    list_select_related = ["team", "user", "branch"]
    search_fields = ["code", "model", "request_id"]
    # The log grows to millions of rows: skip the unfiltered COUNT(*) on every list page.
    show_full_result_count = False


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["created", "team", "user", "verdict", "winner"]
    list_filter = ["verdict"]
    list_select_related = ["team", "user", "winner"]
