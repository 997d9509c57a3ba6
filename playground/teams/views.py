from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from .access import get_branch_for_manager, get_branch_for_runner, memberships_for_user, teams_managed_by
from .checks import check_branch
from .forms import BranchForm, SignupForm
from .models import Branch


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("compare:index")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()  # the post_save signal gives the user a personal team
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("compare:index")
    return render(request, "registration/signup.html", {"form": form})


def _roles(user):
    """{team id: Membership} for the user's teams: one query serves every row's buttons."""
    return {m.team_id: m for m in memberships_for_user(user)}


def _row_context(branch, membership):
    return {
        "branch": branch,
        "can_manage": membership is not None and membership.can_manage,
        "can_run": membership is not None and membership.can_run,
    }


@login_required
@require_http_methods(["GET", "POST"])
def branches(request):
    managed = teams_managed_by(request.user)
    form = None
    if request.method == "POST":
        form = BranchForm(request.POST, teams=managed)
        if form.is_valid():
            data = form.cleaned_data
            branch = Branch(
                team=data["team"],
                name=data["name"],
                neon_branch_id=data["neon_branch_id"],
                parent=data["parent"],
                base_url=data["base_url"],
                created_by=request.user,
            )
            branch.set_token(data["token"])
            branch.save()
            messages.success(request, f"Branch “{branch.name}” added. Use Check to test its token.")
            return redirect("teams:branches")
    roles = _roles(request.user)
    if form is None and any(m.can_manage for m in roles.values()):
        personal = next((m.team for m in roles.values() if m.team.personal and m.role == m.Role.OWNER), None)
        form = BranchForm(teams=managed, initial={"team": personal})
    rows = [
        _row_context(branch, roles.get(branch.team_id))
        for branch in Branch.objects.for_user(request.user)
        .select_related("team", "parent", "created_by")
        .order_by("team__name", "name")
    ]
    return render(
        request,
        "teams/branches.html",
        {"rows": rows, "form": form, "show_team": len(roles) > 1},
    )


@login_required
@require_http_methods(["GET", "POST"])
def branch_edit(request, code):
    branch = get_branch_for_manager(request.user, code)
    if request.method == "POST":
        form = BranchForm(request.POST, branch=branch)
        if form.is_valid():
            data = form.cleaned_data
            branch.name = data["name"]
            branch.neon_branch_id = data["neon_branch_id"]
            branch.parent = data["parent"]
            base_url_changed = branch.base_url != data["base_url"]
            branch.base_url = data["base_url"]
            fields = ["name", "neon_branch_id", "parent", "base_url"]
            # A blank token keeps the stored one: the page never had it to send back.
            if data["token"]:
                branch.set_token(data["token"])
                fields += ["token_encrypted", "token_hint"]
            if data["token"] or base_url_changed:
                # The last check was of another URL or token; it says nothing now.
                branch.last_checked = branch.last_ok = None
                branch.last_check_error = ""
                fields += ["last_checked", "last_ok", "last_check_error"]
            branch.save(update_fields=fields)
            messages.success(request, f"Branch “{branch.name}” saved.")
            return redirect("teams:branches")
    else:
        form = BranchForm(
            branch=branch,
            initial={
                "name": branch.name,
                "neon_branch_id": branch.neon_branch_id,
                "parent": branch.parent.code if branch.parent_id else None,
                "base_url": branch.base_url,
            },
        )
    return render(request, "teams/branch_edit.html", {"form": form, "branch": branch})


@login_required
@require_http_methods(["GET", "POST"])
def branch_delete(request, code):
    branch = get_branch_for_manager(request.user, code)
    if request.method == "POST":
        name = branch.name
        branch.delete()
        messages.success(request, f"Branch “{name}” deleted.")
        return redirect("teams:branches")
    return render(request, "teams/branch_delete.html", {"branch": branch})


@login_required
@require_POST
def branch_check(request, code):
    branch = get_branch_for_runner(request.user, code)
    ok, message = async_to_sync(check_branch)(branch)
    if request.htmx:
        roles = _roles(request.user)
        branch = Branch.objects.select_related("team", "parent", "created_by").get(pk=branch.pk)
        return render(
            request,
            "teams/_row.html",
            {**_row_context(branch, roles.get(branch.team_id)), "show_team": len(roles) > 1},
        )
    (messages.success if ok else messages.error)(request, f"{branch.name}: {message}")
    return redirect("teams:branches")
