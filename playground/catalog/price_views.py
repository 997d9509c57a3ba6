"""Team price overrides: a team's own per-1M rates for a model (negotiated prices, say).

Everyone in a team sees its overrides; owners and admins set and remove them. New
requests take the override (playground/teams/pricing.py); past requests keep the price
they were logged with.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from gateway.models import GatewayModel
from gateway.pricing import RATE_NAMES
from playground.teams import audit
from playground.teams.access import get_membership, get_team_for_user, memberships_for_user
from playground.teams.current import current_membership
from playground.teams.models import AuditEvent, TeamModelPrice

RATE_LABELS = {
    "input": "Input",
    "output": "Output",
    "cache_read": "Cache read",
    "cache_write": "Cache write",
    "input_audio": "Audio input",
}


def _rate_field(label):
    # Same precision as the TeamModelPrice columns; 0 is allowed here (a team may get a model free).
    return forms.DecimalField(
        label=label, required=False, min_value=0, max_digits=12, decimal_places=6, widget=forms.TextInput
    )


class PriceOverrideForm(forms.Form):
    model = forms.ChoiceField(label="Model")
    input = _rate_field(RATE_LABELS["input"])
    output = _rate_field(RATE_LABELS["output"])
    cache_read = _rate_field(RATE_LABELS["cache_read"])
    cache_write = _rate_field(RATE_LABELS["cache_write"])
    input_audio = _rate_field(RATE_LABELS["input_audio"])
    note = forms.CharField(
        max_length=200, required=False, help_text="Shown with every cost at this price, e.g. “2027 contract”."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", "Choose a model")] + [
            (model_id, f"{name} ({model_id})")
            for model_id, name in GatewayModel.objects.order_by("provider", "id").values_list("id", "name")
        ]

    def clean(self):
        data = super().clean()
        if not self.errors and all(data.get(key) is None for key in RATE_NAMES):
            raise forms.ValidationError("Set at least one rate; empty rates keep the catalog's price.")
        return data


def _team_and_membership(request, slug):
    """The chosen team (404 unless the user is in it) or the user's first team; None without teams."""
    if slug:
        team = get_team_for_user(request.user, slug)
        return team, get_membership(request.user, team)
    membership = current_membership(request)
    return (membership.team, membership) if membership else (None, None)


def _prices_url(team):
    return f"{reverse('catalog:prices')}?team={team.slug}"


@login_required
@require_http_methods(["GET", "POST"])
def prices(request):
    slug = request.POST.get("team") if request.method == "POST" else request.GET.get("team")
    team, membership = _team_and_membership(request, slug)
    if team is None:
        return render(request, "catalog/prices.html", {"team": None})
    can_manage = membership.can_manage
    form = None
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied("Only the team's owners and admins can set prices.")
        form = PriceOverrideForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            TeamModelPrice.objects.update_or_create(
                team=team,
                model_id=data["model"],
                defaults={
                    **{key: data[key] for key in RATE_NAMES},
                    "note": data["note"],
                    # Setting a new price restarts its date: request snapshots show it as "effective".
                    "created_by": request.user,
                    "created": timezone.now(),
                },
            )
            rates = ", ".join(f"{key} {data[key]}" for key in RATE_NAMES if data[key] is not None)
            audit.record(request, team, AuditEvent.Action.PRICE_SET, f"{data['model']}: {rates} per 1M")
            messages.success(request, f"{team.name} now pays its own price for {data['model']}.")
            return redirect(_prices_url(team))
    elif can_manage:
        form = PriceOverrideForm()
    overrides = list(TeamModelPrice.objects.filter(team=team).select_related("created_by"))
    catalog = GatewayModel.objects.in_bulk([o.model_id for o in overrides])
    rows = [
        {
            "override": o,
            "model": catalog.get(o.model_id),
            "rates": [
                (getattr(o, key), getattr(catalog[o.model_id], f"price_{key}") if o.model_id in catalog else None)
                for key in RATE_NAMES
            ],
        }
        for o in overrides
    ]
    teams = [m.team for m in memberships_for_user(request.user).order_by("-team__personal", "team__name")]
    context = {
        "team": team,
        "teams": teams,
        "rows": rows,
        "form": form,
        "can_manage": can_manage,
        "rate_labels": [RATE_LABELS[key] for key in RATE_NAMES],
    }
    return render(request, "catalog/prices.html", context)


@login_required
@require_POST
def price_remove(request):
    team = get_team_for_user(request.user, request.POST.get("team") or "")
    if not get_membership(request.user, team).can_manage:
        raise PermissionDenied("Only the team's owners and admins can remove prices.")
    deleted, _ = TeamModelPrice.objects.filter(team=team, model_id=request.POST.get("model") or "").delete()
    if deleted:
        audit.record(request, team, AuditEvent.Action.PRICE_REMOVED, request.POST["model"])
        messages.success(request, f"{team.name} pays the catalog price for {request.POST['model']} again.")
    return redirect(_prices_url(team))
