from django import forms
from django.contrib import admin

from .models import Branch, Membership, Team
from .validation import token_must_be_reentered, validate_base_url


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "personal", "created"]
    list_filter = ["personal"]
    search_fields = ["name", "slug"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created"]
    list_filter = ["role"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "team__slug"]
    raw_id_fields = ["user", "team"]


class BranchAdminForm(forms.ModelForm):
    # Write-only, like the Branches page: the stored token is never sent to the browser.
    new_token = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave blank to keep the current token.",
    )

    class Meta:
        model = Branch
        # Listed, not excluded: a field added to Branch later stays out until chosen here.
        fields = ["team", "name", "neon_branch_id", "parent", "base_url", "is_simulator", "created_by", "model_ids"]

    def clean_base_url(self):
        return validate_base_url(self.cleaned_data["base_url"])

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and not (data.get("new_token") or "").strip():
            self.add_error("new_token", "A new branch needs a token.")
        elif self.instance.pk is not None and data.get("base_url") and not (data.get("new_token") or "").strip():
            reason = token_must_be_reentered(self.instance.base_url, data["base_url"])
            if reason:
                self.add_error("new_token", reason)
        return data


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin):
    form = BranchAdminForm
    list_display = ["name", "team", "base_url", "token_hint", "is_simulator", "last_checked", "created"]
    list_filter = ["is_simulator"]
    list_select_related = ["team"]
    search_fields = ["name", "neon_branch_id", "team__slug"]
    raw_id_fields = ["team", "parent", "created_by"]
    readonly_fields = ["code", "token_hint", "created", "last_checked", "last_ok", "last_check_error"]

    def save_model(self, request, obj, form, change):
        token = (form.cleaned_data.get("new_token") or "").strip()
        if token:
            obj.set_token(token)
        super().save_model(request, obj, form, change)
