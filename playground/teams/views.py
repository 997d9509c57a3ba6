from asgiref.sync import async_to_sync
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import audit
from .access import get_branch_for_manager, get_branch_for_runner, get_membership
from .checks import check_branch
from .current import current_membership
from .forms import BranchForm, SignupForm
from .models import AuditEvent, Branch
from .signup import INVITATION_SESSION_KEY, signup_allowed, signup_mode

Action = AuditEvent.Action


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("compare:index")
    if not signup_allowed(request):
        return render(request, "registration/signup.html", {"closed": True, "mode": signup_mode()}, status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()  # the post_save signal gives the user a personal team
        invitation = request.session.pop(INVITATION_SESSION_KEY, None)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        if invitation:
            # Joining the team is the invitation's business: back to its link, now logged in.
            return redirect("invitation", token=invitation)
        return redirect("compare:index")
    return render(request, "registration/signup.html", {"form": form})


def _row_context(branch, membership):
    return {
        "branch": branch,
        "can_manage": membership is not None and membership.can("manage_branches"),
        "can_run": membership is not None and membership.can("run"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def branches(request):
    """The current team's branches, and (for its owners and admins) a form to add one."""
    membership = current_membership(request)
    team = membership.team if membership else None
    can_manage = membership is not None and membership.can("manage_branches")
    form = None
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only the team's owners and admins can add branches.")
        form = BranchForm(request.POST, team=team)
        if form.is_valid():
            data = form.cleaned_data
            branch = Branch(
                team=team,
                name=data["name"],
                neon_branch_id=data["neon_branch_id"],
                parent=data["parent"],
                base_url=data["base_url"],
                inherit_token=data["inherit_token"],
                created_by=request.user,
            )
            if not data["inherit_token"]:
                branch.set_token(data["token"])
            branch.save()
            audit.record(request, team, Action.BRANCH_ADDED, branch.name)
            messages.success(request, f"Branch “{branch.name}” added. Use Check to test its token.")
            return redirect("teams:branches")
    elif can_manage:
        form = BranchForm(team=team)
    rows = [
        _row_context(branch, membership)
        for branch in Branch.objects.filter(team=team).select_related("team", "parent", "created_by").order_by("name")
    ]
    return render(request, "teams/branches.html", {"rows": rows, "form": form, "team": team})


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
            inherit_changed = branch.inherit_token != data["inherit_token"]
            branch.inherit_token = data["inherit_token"]
            fields = ["name", "neon_branch_id", "parent", "base_url", "inherit_token"]
            # A blank token keeps the stored one: the page never had it to send back.
            if data["token"]:
                branch.set_token(data["token"])
                fields += ["token_encrypted", "token_hint"]
            if data["token"] or base_url_changed or inherit_changed:
                # The last check was of another URL or token; it says nothing now.
                branch.last_checked = branch.last_ok = None
                branch.last_check_error = ""
                fields += ["last_checked", "last_ok", "last_check_error"]
            branch.save(update_fields=fields)
            audit.record(request, branch.team, Action.BRANCH_EDITED, branch.name)
            if data["token"]:
                audit.record(request, branch.team, Action.TOKEN_REPLACED, f"{branch.name}: now {branch.token_hint}")
            if inherit_changed:
                how = "inherits its parent's token" if branch.inherit_token else "has its own token"
                audit.record(request, branch.team, Action.TOKEN_REPLACED, f"{branch.name} {how}")
            if base_url_changed:
                audit.record(request, branch.team, Action.BASE_URL_CHANGED, f"{branch.name}: {branch.base_url}")
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
                "inherit_token": branch.inherit_token,
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
        audit.record(request, branch.team, Action.BRANCH_DELETED, name)
        messages.success(request, f"Branch “{name}” deleted.")
        return redirect("teams:branches")
    return render(request, "teams/branch_delete.html", {"branch": branch})


@login_required
@require_POST
def branch_check(request, code):
    branch = get_branch_for_runner(request.user, code)
    ok, message = async_to_sync(check_branch)(branch)
    if request.htmx:
        branch = Branch.objects.select_related("team", "parent", "created_by").get(pk=branch.pk)
        return render(request, "teams/_row.html", _row_context(branch, get_membership(request.user, branch.team)))
    (messages.success if ok else messages.error)(request, f"{branch.name}: {message}")
    return redirect("teams:branches")
