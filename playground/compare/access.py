"""Access to a logged request: the Completion or Http404, scoped to the user's teams."""

from django.core.exceptions import ValidationError
from django.http import Http404

from .models import Completion


def get_completion_for_user(user, code):
    """A logged request of one of the user's teams, or 404."""
    if not user.is_authenticated:
        raise Http404("No such request")
    try:
        return Completion.objects.select_related("run", "user", "branch", "team").get(
            code=code, team__memberships__user=user
        )
    except (Completion.DoesNotExist, ValidationError, ValueError):
        raise Http404("No such request") from None
