from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from gateway.catalog import normalize_model_id
from gateway.models import GatewayModel
from playground.teams.models import Branch, Membership

DEFAULT_MODELS = ["gpt-5-mini", "claude-haiku-4-5"]


@login_required
def index(request):
    runnable_teams = Membership.objects.filter(user=request.user).exclude(role=Membership.Role.VIEWER)
    branches = list(
        Branch.objects.filter(team__in=runnable_teams.values("team"))
        .select_related("team")
        .order_by("team__name", "name")
    )
    models = list(GatewayModel.objects.listed().chat().order_by("provider", "id"))
    known = {m.id for m in models}
    # From the Models page: ?models=a,b,c (with JavaScript) or ?models=a&models=b (without).
    wanted = [normalize_model_id(m.strip()) for v in request.GET.getlist("models") for m in v.split(",") if m.strip()]
    selected = [m for m in wanted if m in known][:8] or [m for m in DEFAULT_MODELS if m in known]
    providers = {}
    for model in models:
        providers.setdefault(model.provider, []).append(model)
    return render(
        request,
        "compare/index.html",
        {
            "branches": branches,
            "providers": sorted(providers.items()),
            "selected": selected,
            "show_team": len({b.team_id for b in branches}) > 1,
        },
    )
