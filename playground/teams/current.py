"""The current team: chosen from the top bar, remembered in the session, and the scope of
every page. One query per request reads the user's memberships (cached on the request)."""

from django.http import Http404
from django.utils.functional import SimpleLazyObject

SESSION_KEY = "current_team"
# Also kept in a cookie, so the choice outlives the session (a new login starts there).
COOKIE = "current_team"
COOKIE_AGE = 365 * 24 * 3600


def memberships(request):
    """The user's memberships with their teams, personal team first, then by name."""
    cached = getattr(request, "_team_memberships", None)
    if cached is None:
        from .access import memberships_for_user

        cached = sorted(
            memberships_for_user(request.user),
            key=lambda m: (not (m.team.personal and m.role == m.Role.OWNER), m.team.name.lower(), m.team_id),
        )
        request._team_memberships = cached
    return cached


def current_membership(request):
    """The membership of the team chosen in this session, else the user's own team; None
    for a user without teams (or anonymous)."""
    if not request.user.is_authenticated:
        return None
    mine = memberships(request)
    if not mine:
        return None
    slug = request.session.get(SESSION_KEY) or request.COOKIES.get(COOKIE)
    return next((m for m in mine if m.team.slug == slug), mine[0])


def current_team(request):
    membership = current_membership(request)
    return membership.team if membership else None


def require_current_membership(request):
    membership = current_membership(request)
    if membership is None:
        raise Http404("No team")
    return membership


def set_current_team(request, team, response=None):
    request.session[SESSION_KEY] = team.slug
    request._team_memberships = None
    if response is not None:
        remember(response, team)
    return response


def remember(response, team):
    response.set_cookie(COOKIE, team.slug, max_age=COOKIE_AGE, httponly=True, samesite="Lax")
    return response


def context(request):
    """Template context: the team switcher in the top bar."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    # Lazy: a fragment that never shows the switcher costs no query.
    return {
        "current_membership": SimpleLazyObject(lambda: current_membership(request)),
        "team_memberships": SimpleLazyObject(lambda: memberships(request)),
    }
