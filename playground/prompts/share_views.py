"""Read-only share links: /s/<token>/ shows a prompt and its chosen outputs to anyone with
the link, without login. Never costs, tokens, branch names or the team's members."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from playground.compare.rendering import render_markdown
from playground.teams import audit
from playground.teams.current import memberships
from playground.teams.models import AuditEvent

from . import library
from .access import get_prompt_for_user
from .models import Prompt, ShareLink
from .views import _fork


@login_required
@require_POST
def create(request, code):
    prompt = get_prompt_for_user(request.user, code, "share")
    if prompt.visibility != Prompt.Visibility.TEAM:
        messages.error(request, "A private prompt cannot be shared: make it the team's first.")
        return redirect("prompts:detail", code=prompt.code)
    link = ShareLink.objects.create(
        prompt=prompt, team=prompt.team, token=secrets.token_urlsafe(18), created_by=request.user
    )
    audit.record(request, prompt.team, AuditEvent.Action.SHARE_CREATED, prompt.name)
    messages.success(request, "Share link made: anyone with it can read this prompt.")
    return redirect(f"{prompt_url(prompt)}#share-{link.code}")


@login_required
@require_POST
def revoke(request, code, link):
    prompt = get_prompt_for_user(request.user, code, "share")
    updated = ShareLink.objects.filter(prompt=prompt, code=link, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit.record(request, prompt.team, AuditEvent.Action.SHARE_REVOKED, prompt.name)
        messages.success(request, "Share link revoked: it no longer opens.")
    return redirect(prompt_url(prompt))


def prompt_url(prompt):
    return reverse("prompts:detail", args=[prompt.code])


def _throttled(request):
    """At most SHARE_RATE_PER_MINUTE views of share links per client address in a minute
    (the window opens at the address's first view and closes 60 s later)."""
    key = f"share-rate:{audit.client_address(request)}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    return count > settings.SHARE_RATE_PER_MINUTE


def _noindex(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _live_link(token):
    link = ShareLink.objects.select_related("prompt").filter(token=token, revoked_at__isnull=True).first()
    return link


@require_GET
def public(request, token):
    if _throttled(request):
        response = HttpResponse("Too many requests for share links; wait a minute.", status=429)
        response["Retry-After"] = "60"
        return _noindex(response)
    link = _live_link(token)
    if link is None:
        return _noindex(render(request, "prompts/share_gone.html", {"reason": "missing"}, status=404))
    if link.prompt is None:
        return _noindex(render(request, "prompts/share_gone.html", {"reason": "deleted"}, status=410))
    prompt = link.prompt
    version = prompt.latest_version()
    outputs = [
        {"model": c.model, "html": render_markdown(c.output_text)}
        for c in (version.showcase.order_by("model") if version else [])
        if c.output_text
    ]
    fork_teams = []
    if request.user.is_authenticated:
        fork_teams = [m.team for m in memberships(request) if m.can("write_prompts")]
    return _noindex(
        render(
            request,
            "prompts/share.html",
            {"prompt": prompt, "version": version, "outputs": outputs, "token": token, "fork_teams": fork_teams},
        )
    )


@login_required
@require_POST
def fork(request, token):
    link = _live_link(token)
    if link is None or link.prompt is None:
        return _noindex(render(request, "prompts/share_gone.html", {"reason": "missing"}, status=404))
    data = library.export(link.prompt)
    # The source is in someone else's team: the copy links to the share page, not to it.
    return _fork(request, data, forked_from=None, label=f"shared link /s/{token}/")
