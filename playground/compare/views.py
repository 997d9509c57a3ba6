import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_POST

from gateway.catalog import normalize_model_id
from gateway.models import GatewayModel
from playground.teams.access import get_team_for_user
from playground.teams.current import current_membership
from playground.teams.current import memberships as team_memberships
from playground.teams.models import Branch

from . import export, prefill, snippets, votes
from .run_frame import RunError, parse_run_frame


@login_required
def index(request):
    # The current team's branches, when the user's role may run on them.
    membership = current_membership(request)
    runnable = membership is not None and membership.can("run")
    branches = (
        list(Branch.objects.filter(team=membership.team).select_related("team").order_by("name")) if runnable else []
    )
    models = list(GatewayModel.objects.listed().chat().order_by("provider", "id"))
    known = {m.id for m in models}
    # From the Models page: ?models=a,b,c (with JavaScript) or ?models=a&models=b (without).
    wanted = [normalize_model_id(m.strip()) for v in request.GET.getlist("models") for m in v.split(",") if m.strip()]
    # Nothing ticked otherwise: compare.js then restores the person's last choice.
    fill = prefill.take(request) or {}
    wanted += [m for m in fill.get("models", []) if isinstance(m, str)]
    selected = [m for m in wanted if m in known][: settings.RUN_MAX_MODELS]
    providers = {}
    for model in models:
        providers.setdefault(model.provider, []).append(model)
    # Models a branch's GET /v1/models lists that the catalog does not know: they can be
    # run too, with their price unknown.
    catalogued = set(GatewayModel.objects.values_list("id", flat=True))
    uncatalogued = sorted(
        {normalize_model_id(m) for b in branches for m in b.model_ids if isinstance(m, str)} - catalogued
    )
    return render(
        request,
        "compare/index.html",
        {
            "branches": branches,
            "providers": sorted(providers.items()),
            "uncatalogued": uncatalogued,
            "selected": selected,
            # Runs whose worst case costs more than this ask to confirm first (the team's own threshold).
            "confirm_usd": str(membership.team.confirm_usd() if membership else settings.RUN_CONFIRM_USD),
            "max_image_bytes": settings.RUN_MAX_IMAGE_BYTES,
            "max_image_mb": f"{settings.RUN_MAX_IMAGE_BYTES / 1_048_576:g}",
            "max_images": settings.RUN_MAX_IMAGES,
            "max_models": settings.RUN_MAX_MODELS,
            "fill": fill,
            "fill_prior": json.dumps(fill.get("prior") or []),
        },
    )


@login_required
@require_POST
def vote(request, code):
    """Record the user's blind verdict on a run and reveal which model was in which panel."""
    run = votes.get_run_for_user(request.user, code)
    try:
        cast = votes.cast_vote(request.user, run, request.POST.get("verdict", ""), request.POST.get("winner"))
    except votes.VoteError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "vote": str(cast.code),
            "verdict": cast.verdict,
            "winner": str(cast.winner.code) if cast.winner else None,
            "models": {str(c.code): c.model for c in run.completions.all()},
            # A blind run's frames named no model and left out what tells one: here it is.
            "completions": votes.details(run),
        }
    )


@login_required
def export_run(request, code, kind):
    """A run with every answer (retries and added models too) as Markdown or JSON, to download."""
    if kind not in ("md", "json"):
        raise Http404("No such export")
    run = votes.get_run_for_user(request.user, code)
    completions = list(run.completions.order_by("started", "id"))
    if kind == "json":
        response = HttpResponse(export.as_json(run, completions), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(export.as_markdown(run, completions), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="run-{run.code}.{kind}"'
    return response


@login_required
@require_POST
def get_code(request):
    """The comparison in the page (the run frame it would send) as snippets to take away."""
    try:
        frame = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "The request is not JSON."}, status=400)
    if not isinstance(frame, dict):
        return JsonResponse({"error": "The request is a JSON object."}, status=400)
    # The snippets read the branch from the environment: no branch is needed here.
    frame = {**frame, "branch": frame.get("branch") or "-"}
    try:
        request_ = parse_run_frame(frame)
    except RunError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    calls = snippets.plan_calls(request_.models, request_.messages, request_.params)
    return JsonResponse(
        {
            "snippets": snippets.snippets(request_.models, request_.messages, request_.params),
            "calls": [{"model": c.model, "endpoint": c.endpoint, "notes": c.notes} for c in calls],
        }
    )


def _leaderboard_team(request):
    memberships = sorted(team_memberships(request), key=lambda m: (m.team.name.lower(), m.team_id))
    slug = request.GET.get("team")
    if not slug and memberships:
        slug = current_membership(request).team.slug  # the team chosen in the top bar
    # The membership list already holds the user's teams: no second query for the team.
    team = next((m.team for m in memberships if m.team.slug == slug), None)
    if slug and team is None:
        raise Http404("No such team")
    return team, memberships


@login_required
def leaderboard(request):
    team, memberships = _leaderboard_team(request)
    version = votes.prompt_version_filter(request.GET.get("prompt_version"))
    rows, count = votes.leaderboard(team, prompt_version=version) if team else ([], 0)
    return render(
        request,
        "compare/leaderboard.html",
        {
            "team": team,
            "memberships": memberships,
            "rows": rows,
            "vote_count": count,
            "unpriced": [r.model for r in rows if r.median_cost is None],
            "prior": votes.PRIOR_GAMES,
            "prompt_version": request.GET.get("prompt_version") if version else "",
        },
    )


# pygal puts a <style> element inside its SVG, which the site's CSP (style-src 'self')
# would block; this response alone allows inline style, and nothing else.
SVG_CSP = {
    "default-src": [CSP.NONE],
    "style-src": [CSP.UNSAFE_INLINE],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.NONE],
}


@login_required
@csp_override(SVG_CSP)
def leaderboard_chart(request):
    team = get_team_for_user(request.user, request.GET.get("team"))
    version = votes.prompt_version_filter(request.GET.get("prompt_version"))
    rows, _ = votes.leaderboard(team, prompt_version=version)
    return HttpResponse(votes.strength_cost_chart(rows), content_type="image/svg+xml; charset=utf-8")
