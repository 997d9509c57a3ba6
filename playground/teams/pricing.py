"""The price a team's new requests are charged at: the catalog's, or the team's own override.

A snapshot is stored on each request row (Completion.price), so a later change to either
price never reprices past requests.
"""

from django.utils import timezone

from .models import TeamModelPrice

RATE_KEYS = ("input", "output", "cache_read", "cache_write", "input_audio")


def override_snapshot(base: dict | None, override: TeamModelPrice) -> dict:
    """A catalog snapshot (or None) with the override's set rates written over it.

    Context tiers are the catalog's rates above a prompt size; once a team sets its own
    input or output rate they no longer describe what it pays, so they are dropped. An
    override of another rate removes that rate from the tiers, so it holds at every size.
    """
    snapshot = dict(base) if base else {key: None for key in RATE_KEYS} | {"tiers": [], "effective": None}
    overridden = [key for key in RATE_KEYS if getattr(override, key) is not None]
    for key in overridden:
        snapshot[key] = str(getattr(override, key))
    if "input" in overridden or "output" in overridden:
        snapshot["tiers"] = []
    else:
        snapshot["tiers"] = [
            {name: value for name, value in tier.items() if name not in overridden}
            for tier in snapshot.get("tiers") or []
        ]
    snapshot["source"] = f"team override: {override.note}" if override.note else "team override"
    snapshot["effective"] = timezone.localdate(override.created).isoformat()
    snapshot["override"] = True
    return snapshot


def price_snapshots(team, models: dict) -> dict:
    """{model id: the price snapshot to store on a request} for a team, in one query.

    `models` maps model ids to GatewayModel rows, or to None for an id the catalog lacks;
    a team override applies to either. An id with neither a catalog row nor an override
    gets None (the request's cost is then unknown, never 0).
    """
    overrides = {}
    if models:
        overrides = {o.model_id: o for o in TeamModelPrice.objects.filter(team=team, model_id__in=list(models))}
    snapshots = {}
    for model_id, model in models.items():
        base = model.price_snapshot() if model is not None else None
        override = overrides.get(model_id)
        snapshots[model_id] = override_snapshot(base, override) if override else base
    return snapshots
