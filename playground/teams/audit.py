"""The team audit log: one row per change that matters, with who, when and from where."""

import re

from .models import AuditEvent

# A detail is free text built by the views from names and roles; this is the second fence.
_SECRET_RE = re.compile(r"nt_live_\S*|sk-\S+|Bearer\s+\S+", re.IGNORECASE)


def client_address(request):
    """The address the request came from, as the server saw it (REMOTE_ADDR)."""
    address = request.META.get("REMOTE_ADDR") or None
    return address


def record(request, team, action, detail=""):
    detail = _SECRET_RE.sub("[redacted]", detail)[:300]
    return AuditEvent.objects.create(
        team=team, actor=request.user, action=action, detail=detail, ip=client_address(request)
    )
