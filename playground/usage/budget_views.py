"""Budgets and the rate-limit setting (owners and admins edit; members see), and the meters
fragment the Usage and Compare pages load through htmx."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from playground.teams.access import get_branch_for_user, get_membership, get_team_for_user
from playground.teams.current import current_membership

from . import limits
from .forms import BudgetForm, ConfirmForm, LimitsForm
from .models import Budget, TeamLimits


def _current_team(request):
    membership = current_membership(request)
    if membership is None:
        raise Http404("No team")
    return membership.team


def _budgets_url(team):
    return f"{reverse('usage:budgets')}?team={team.slug}"


@login_required
@require_http_methods(["GET", "POST"])
def budgets(request):
    slug = request.GET.get("team") or request.POST.get("team")
    # Without ?team=, the team chosen in the top bar.
    team = get_team_for_user(request.user, slug) if slug else _current_team(request)
    membership = get_membership(request.user, team)
    limits_row = TeamLimits.objects.filter(team=team).first() or TeamLimits(team=team)
    form, limits_form = BudgetForm(team=team), LimitsForm(instance=limits_row)
    confirm_form = ConfirmForm(instance=team)
    if request.method == "POST":
        if not membership.can_manage:
            raise PermissionDenied("Only owners and admins set budgets.")
        if request.POST.get("form") == "limits":
            limits_form = LimitsForm(request.POST, instance=limits_row)
            if limits_form.is_valid():
                limits_row.tokens_per_minute = limits_form.cleaned_data["tokens_per_minute"]
                limits_row.save()
                messages.success(request, "Rate limit saved.")
                return redirect(_budgets_url(team))
        elif request.POST.get("form") == "confirm":
            confirm_form = ConfirmForm(request.POST, instance=team)
            if confirm_form.is_valid():
                team.save(update_fields=["run_confirm_usd"])
                messages.success(request, "Run confirmation threshold saved.")
                return redirect(_budgets_url(team))
        else:
            form = BudgetForm(request.POST, team=team)
            if form.is_valid():
                budget = form.save(commit=False)
                budget.team = team
                budget.save()
                messages.success(request, "Budget added.")
                return redirect(_budgets_url(team))
    return render(
        request,
        "usage/budgets.html",
        {
            "team": team,
            "can_manage": membership.can_manage,
            "meters": limits.budget_meters(team),
            "form": form,
            "limits_form": limits_form,
            "tpm_limit": limits_row.tokens_per_minute,
            "confirm_form": confirm_form,
            "confirm_usd": team.confirm_usd(),
            "confirm_default": settings.RUN_CONFIRM_USD,
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def budget_delete(request, code):
    try:
        budget = get_object_or_404(Budget.objects.select_related("team"), code=code)
    except ValueError:
        raise Http404("No such budget") from None
    membership = get_membership(request.user, budget.team)  # 404 for outsiders
    if not membership.can_manage:
        raise PermissionDenied("Only owners and admins set budgets.")
    budget.delete()
    messages.success(request, "Budget removed.")
    return redirect(_budgets_url(budget.team))


@login_required
@require_GET
@cache_control(private=True, no_cache=True)
def meters(request):
    """The budget and rate-limit meters of a team (?team=) or of a branch's team (?branch=)."""
    branch = None
    if request.GET.get("branch"):
        branch = get_branch_for_user(request.user, request.GET["branch"])
        team = branch.team
    elif request.GET.get("team"):
        team = get_team_for_user(request.user, request.GET["team"])
    else:
        team = _current_team(request)
    used, per_model = limits.tokens_last_minute(team)
    limit = limits.tpm_limit(team)
    budget_meters = limits.budget_meters(team, branch)
    return render(
        request,
        "usage/_meters.html",
        {
            "team": team,
            "meters": budget_meters,
            "banner": [m for m in budget_meters if m.warning],
            "tpm_used": used,
            "tpm_limit": limit,
            "tpm_percent": min(100, round(used * 100 / limit)) if limit else 100,
            "tpm_models": sorted(per_model.items(), key=lambda kv: -kv[1])[:5],
            "budgets_url": _budgets_url(team),
        },
    )
