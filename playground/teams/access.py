"""Access to teams and branches: one helper per object, each returning the object or raising Http404.

Apps above teams keep the helpers of their own objects next to them (a logged request:
`playground.compare.access`), built on the same membership rule.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F
from django.http import Http404

from .models import Branch, Membership, Team


def memberships_for_user(user):
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user).select_related("team")


def get_membership(user, team) -> Membership:
    try:
        return Membership.objects.get(user=user, team=team)
    except Membership.DoesNotExist:
        raise Http404("No such team") from None


def get_team_for_user(user, slug) -> Team:
    if not user.is_authenticated:
        raise Http404("No such team")
    try:
        return Team.objects.for_user(user).get(slug=slug)
    except Team.DoesNotExist:
        raise Http404("No such team") from None


def get_branch_for_user(user, code) -> Branch:
    """The branch with this code in one of the user's teams, or 404."""
    if not user.is_authenticated:
        raise Http404("No such branch")
    try:
        return Branch.objects.for_user(user).select_related("team").get(code=code)
    except (Branch.DoesNotExist, ValidationError, ValueError, TypeError):
        # A code that is not a UUID is simply not found.
        raise Http404("No such branch") from None


def _branch_with_role(user, code, allowed):
    """The branch (404 for outsiders) if the user's role passes `allowed`, else 403.

    One query: the run path calls this before every run, so the role comes along with
    the branch instead of in a second query.
    """
    if not user.is_authenticated:
        raise Http404("No such branch")
    try:
        branch = (
            Branch.objects.filter(team__memberships__user=user)
            .annotate(user_role=F("team__memberships__role"))
            .select_related("team")
            .get(code=code)
        )
    except (Branch.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such branch") from None
    if not allowed(Membership(role=branch.user_role)):
        # The user can see the branch, so a 404 would be a lie; say it is forbidden.
        raise PermissionDenied("Your role in this team does not allow this.")
    return branch


def get_branch_for_runner(user, code) -> Branch:
    """A branch the user may send requests through (everyone but viewers)."""
    return _branch_with_role(user, code, lambda m: m.can_run)


def get_branch_for_manager(user, code) -> Branch:
    """A branch the user may edit or delete (owners and admins)."""
    return _branch_with_role(user, code, lambda m: m.can_manage)
