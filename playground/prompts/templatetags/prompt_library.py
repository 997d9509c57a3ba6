from django import template

from playground.teams.current import current_membership

from ..models import Prompt

register = template.Library()


@register.simple_tag
def writable_prompts(request):
    """The current team's prompts the user may add a version to (for Compare's save control)."""
    membership = current_membership(request)
    if membership is None or not membership.can("write_prompts"):
        return []
    return list(Prompt.objects.visible_to(request.user, membership.team).order_by("name").only("code", "name")[:200])


@register.simple_tag
def can_write_prompts(request):
    membership = current_membership(request)
    return membership is not None and membership.can("write_prompts")
