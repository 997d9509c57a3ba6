"""Who may create an account: PLAYGROUND_SIGNUP is "open", "invite" or "closed".

"invite" lets someone sign up only on the way in through an invitation: the invitation
view either signs them up itself (it may, whatever the mode) or, to use the ordinary
signup page, puts the invitation's token in the session under INVITATION_SESSION_KEY
and sends them to it; the signup view hands the token on to `after_signup`.
`createsuperuser` never goes through here, so it works in every mode.
"""

from django.conf import settings
from django.shortcuts import render

INVITATION_SESSION_KEY = "signup_invitation"


def signup_mode() -> str:
    return settings.PLAYGROUND_SIGNUP


def signup_allowed(request) -> bool:
    """May this request create an account on the signup page?"""
    mode = signup_mode()
    if mode == "open":
        return True
    if mode == "invite":
        return bool(request.session.get(INVITATION_SESSION_KEY))
    return False


def context(request):
    """Templates show the "Sign up" link only where anyone may sign up."""
    return {"signup_open": signup_mode() == "open"}


def locked_out(request, original_response=None, credentials=None):
    """The page a login gets while its account or address is locked (django-axes calls it)."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME.total_seconds() / 60))
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    return render(request, "registration/locked.html", context, status=429)
