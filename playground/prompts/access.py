"""Access to prompts, versions and runs: each helper returns the object or raises Http404.

A prompt is visible to its team's members when its visibility is "team", and to its author
alone when private. What a member may do with it is the team's rule (teams/roles.py).
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404

from playground.compare.models import Run
from playground.teams.models import Membership

from .models import Prompt, PromptVersion


def _membership(user, team_id):
    return Membership.objects.filter(user=user, team_id=team_id).first()


def _visible(user):
    return Q(visibility=Prompt.Visibility.TEAM) | Q(author=user)


def get_prompt_for_user(user, code, action="read"):
    """The prompt (404 unless the user may see it), with `membership` set; 403 when the
    user's role may not do `action`."""
    if not user.is_authenticated:
        raise Http404("No such prompt")
    try:
        prompt = (
            Prompt.objects.filter(_visible(user), team__memberships__user=user).select_related("team").get(code=code)
        )
    except (Prompt.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such prompt") from None
    prompt.membership = _membership(user, prompt.team_id)
    if not prompt.membership.can(action):
        raise PermissionDenied("Your role in this team does not allow this.")
    return prompt


def get_version_for_user(user, code, action="read"):
    if not user.is_authenticated:
        raise Http404("No such version")
    try:
        version = (
            PromptVersion.objects.filter(Q(prompt__visibility=Prompt.Visibility.TEAM) | Q(prompt__author=user))
            .filter(prompt__team__memberships__user=user)
            .select_related("prompt", "prompt__team", "author")
            .get(code=code)
        )
    except (PromptVersion.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such version") from None
    version.membership = _membership(user, version.prompt.team_id)
    if not version.membership.can(action):
        raise PermissionDenied("Your role in this team does not allow this.")
    return version


def get_run_for_user(user, code):
    """A run of one of the user's teams, or 404."""
    if not user.is_authenticated:
        raise Http404("No such run")
    try:
        return Run.objects.select_related("team", "user", "branch", "rerun_of").get(
            code=code, team__memberships__user=user
        )
    except (Run.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such run") from None
