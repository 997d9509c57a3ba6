from django import forms

from playground.teams.models import Branch, Team

from .models import Budget, TeamLimits


class BudgetForm(forms.ModelForm):
    class Meta:
        model = Budget
        fields = ["branch", "monthly_usd", "warn_percent", "hard_stop"]
        labels = {
            "branch": "Applies to",
            "monthly_usd": "Monthly budget (USD)",
            "warn_percent": "Warn at (% of the budget)",
            "hard_stop": "Stop new runs once the budget is spent",
        }

    def __init__(self, *args, team, **kwargs):
        super().__init__(*args, **kwargs)
        self.team = team
        self.fields["branch"].queryset = Branch.objects.filter(team=team).order_by("name")
        self.fields["branch"].empty_label = "The whole team"
        self.fields["branch"].required = False
        self.fields["monthly_usd"].min_value = 0
        self.fields["warn_percent"].max_value = 100

    def clean_monthly_usd(self):
        value = self.cleaned_data["monthly_usd"]
        if value is not None and value <= 0:
            raise forms.ValidationError("A budget is more than $0.")
        return value

    def clean_warn_percent(self):
        value = self.cleaned_data["warn_percent"]
        if not 1 <= value <= 100:
            raise forms.ValidationError("Between 1 and 100.")
        return value

    def clean(self):
        data = super().clean()
        branch = data.get("branch")
        others = Budget.objects.filter(team=self.team, branch=branch)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(
                "That branch already has a budget: edit it instead." if branch else "The team already has a budget."
            )
        return data


class LimitsForm(forms.ModelForm):
    class Meta:
        model = TeamLimits
        fields = ["tokens_per_minute"]
        labels = {"tokens_per_minute": "Gateway rate limit (tokens per minute, input plus output)"}

    def clean_tokens_per_minute(self):
        value = self.cleaned_data["tokens_per_minute"]
        if not value:
            raise forms.ValidationError("At least 1 token per minute.")
        return value


class ConfirmForm(forms.ModelForm):
    """The team's threshold above which Compare asks before a run (empty: the site's default)."""

    class Meta:
        model = Team
        fields = ["run_confirm_usd"]
        labels = {"run_confirm_usd": "Ask before a run whose worst case costs more than (USD)"}
