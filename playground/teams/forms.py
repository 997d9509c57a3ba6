from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError

from .models import Branch, Membership
from .validation import token_must_be_reentered, validate_base_url, validate_neon_branch_id


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ("username",)


class BranchChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.team.name} / {obj.name}" if self.show_team else obj.name

    show_team = False


def _clean_token(value):
    value = (value or "").strip()
    if any(ch.isspace() for ch in value):
        # Never echo the value: the message would put the token in the page.
        raise ValidationError("The token must not contain spaces or line breaks.")
    return value


class BranchForm(forms.Form):
    """Add a branch to `team`, or edit `branch`."""

    name = forms.CharField(max_length=100)
    neon_branch_id = forms.CharField(
        label="Neon branch id",
        max_length=100,
        required=False,
        help_text="Optional, like br-winter-pond-aptw82ef.",
    )
    parent = BranchChoiceField(
        queryset=None,
        to_field_name="code",
        required=False,
        empty_label="None (a root branch)",
        label="Parent branch",
        help_text="Optional. A credential made on a branch also works on its descendants.",
    )
    base_url = forms.CharField(
        label="Base URL",
        max_length=500,
        help_text="NEON_AI_GATEWAY_BASE_URL, or any OpenAI-compatible URL ending in /v1.",
        widget=forms.URLInput(attrs={"placeholder": "https://br-...-api.ai.c-2.us-east-2.aws.neon.tech"}),
    )
    # render_value=False: a token is write-only and never sent back to the browser.
    token = forms.CharField(
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="NEON_AI_GATEWAY_TOKEN (nt_live_...). Stored encrypted; never shown again.",
        required=False,
    )
    inherit_token = forms.BooleanField(
        label="Use the parent branch's token",
        required=False,
        help_text="A credential made on a branch also works on the branches forked from it.",
    )

    def __init__(self, *args, team=None, branch=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.branch = branch
        self.team = branch.team if branch is not None else team
        parents = Branch.objects.filter(team=self.team).select_related("team")
        if branch is not None:
            parents = parents.exclude(pk=branch.pk)
            self.fields["token"].help_text = "Leave blank to keep the current token."
        self.fields["parent"].queryset = parents

    def clean_base_url(self):
        return validate_base_url(self.cleaned_data["base_url"])

    def clean_neon_branch_id(self):
        return validate_neon_branch_id(self.cleaned_data["neon_branch_id"])

    def clean_token(self):
        return _clean_token(self.cleaned_data["token"])

    def clean_name(self):
        return self.cleaned_data["name"].strip()

    def clean(self):
        data = super().clean()
        if self.branch is not None and data.get("base_url") and not data.get("token") and not data.get("inherit_token"):
            reason = token_must_be_reentered(self.branch.base_url, data["base_url"])
            if reason and "token" not in self.errors:
                self.add_error("token", reason)
        team = self.team
        parent = data.get("parent")
        if data.get("inherit_token"):
            if parent is None and "parent" not in self.errors:
                self.add_error("inherit_token", "Choose the parent branch whose token this one uses.")
            if data.get("token"):
                self.add_error("token", "Leave the token empty when the branch uses its parent's.")
        elif not data.get("token") and "token" not in self.errors:
            has_own = self.branch is not None and self.branch.token_encrypted
            if not has_own:
                self.add_error("token", "This field is required (or use the parent branch's token).")
        name = data.get("name")
        if team is not None and parent is not None:
            if parent.team_id != team.pk:
                self.add_error("parent", "The parent branch must belong to the same team.")
            elif self.branch is not None and self._is_descendant(parent):
                self.add_error("parent", "A branch cannot descend from itself.")
        if team is not None and name:
            clash = Branch.objects.filter(team=team, name__iexact=name)
            if self.branch is not None:
                clash = clash.exclude(pk=self.branch.pk)
            if clash.exists():
                self.add_error("name", "This team already has a branch with that name.")
        return data

    def _is_descendant(self, candidate):
        seen = set()
        while candidate is not None and candidate.pk not in seen:
            if candidate.pk == self.branch.pk:
                return True
            seen.add(candidate.pk)
            candidate = candidate.parent
        return False


class TeamForm(forms.Form):
    name = forms.CharField(max_length=100, label="Team name")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("A team needs a name.")
        return name


class InvitationForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=90,
        initial=settings.INVITATION_DAYS,
        help_text="The link works once.",
    )
    email = forms.EmailField(
        required=False, help_text="Optional: the link is also sent to this address.", label="E-mail"
    )

    def __init__(self, *args, roles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [(r, label) for r, label in Membership.Role.choices if r in roles]
