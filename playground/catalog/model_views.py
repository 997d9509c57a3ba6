"""One model's page: its price history (every version with its effective date and source) and
the prices the user's teams set for it."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_GET

from gateway.models import GatewayModel, ModelPrice
from gateway.pricing import RATE_NAMES
from playground.teams.access import memberships_for_user
from playground.teams.models import TeamModelPrice


def _sources(text):
    """A source as links where it names URLs ("https://a ; https://b"), as text otherwise."""
    parts = [part.strip() for part in (text or "").split(" ; ") if part.strip()]
    return [{"url": part if part.startswith("https://") else "", "text": part} for part in parts]


@login_required
@require_GET
def model_detail(request, model_id):
    try:
        model = GatewayModel.objects.get(id=model_id)
    except GatewayModel.DoesNotExist:
        raise Http404("No such model") from None
    versions = [
        {
            "effective": price.effective_from,
            "rates": {name: getattr(price, name) for name in RATE_NAMES},
            "tiers": price.tiers,
            "sources": _sources(price.source),
            "current": n == 0,
        }
        for n, price in enumerate(ModelPrice.objects.filter(model=model).order_by("-effective_from"))
    ]
    teams = [m.team_id for m in memberships_for_user(request.user)]
    team_prices = list(
        TeamModelPrice.objects.filter(team_id__in=teams, model_id=model.id)
        .select_related("team")
        .order_by("team__name")
    )
    return render(
        request,
        "catalog/model.html",
        {
            "model": model,
            "versions": versions,
            "rate_names": RATE_NAMES,
            "team_prices": team_prices,
            "current_sources": _sources(model.price_source),
        },
    )
