"""The price a team's new requests are charged at: the catalog's, or the team's own override.

A snapshot is stored on each request row (Completion.price), so a later change to either
price never reprices past requests.
"""

import threading

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.asyncio import async_unsafe

from gateway.pricing import RATE_NAMES
from playground import memo

from .models import TeamModelPrice


def override_snapshot(base: dict | None, override: TeamModelPrice) -> dict:
    """A catalog snapshot (or None) with the override's set rates written over it.

    Context tiers are the catalog's rates above a prompt size; once a team sets its own
    input or output rate they no longer describe what it pays, so they are dropped. An
    override of another rate removes that rate from the tiers, so it holds at every size.
    """
    snapshot = dict(base) if base else {key: None for key in RATE_NAMES} | {"tiers": [], "effective": None}
    overridden = [key for key in RATE_NAMES if getattr(override, key) is not None]
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


# Every run asks for its team's overrides before its first token (a query costs about a
# millisecond). They are kept in the cache (shared by the processes when it is Redis) and, in
# front of it, in this process's memo, so that a warm run start reads nothing outside the
# process (compare/runs.py). Saving or deleting an override clears both here and the cache for
# every process; another process's memo holds the old prices at most RUN_START_MEMO_SECONDS.
# A safety net only: saves and deletes clear the cache at once.
OVERRIDES_TTL = 300
_local: dict[int, tuple[float, dict]] = {}
_local_lock = threading.Lock()


def _cache_key(team_id):
    return f"team-model-prices:{team_id}"


def team_overrides(team_id) -> dict:
    """{model id: TeamModelPrice} of a team (see above)."""
    hit = _local.get(team_id)
    if hit is not None and memo.usable(hit[0]):
        return hit[1]
    expires = memo.expiry()
    overrides = _shared_overrides(team_id)
    with _local_lock:
        _local[team_id] = (expires, overrides)
    return overrides


@memo.refresher
def _refresh_overrides(branch) -> None:
    team_overrides(branch.team_id)


@async_unsafe("The cache may be across the network: read it on a thread.")
def _shared_overrides(team_id) -> dict:
    overrides = cache.get(_cache_key(team_id))
    if overrides is None:
        overrides = {o.model_id: o for o in TeamModelPrice.objects.filter(team_id=team_id)}
        cache.set(_cache_key(team_id), overrides, OVERRIDES_TTL)
    return overrides


def clear_overrides_memo():
    """Drop this process's memo (tests: rolled-back rows reuse team ids)."""
    with _local_lock:
        _local.clear()


@receiver([post_save, post_delete], sender=TeamModelPrice)
def forget_overrides(sender, instance, **kwargs):
    with _local_lock:
        _local.pop(instance.team_id, None)
    cache.delete(_cache_key(instance.team_id))


def price_snapshots(team, models: dict) -> dict:
    """{model id: the price snapshot to store on a request} for a team, in one query.

    `models` maps model ids to GatewayModel rows, or to None for an id the catalog lacks;
    a team override applies to either. An id with neither a catalog row nor an override
    gets None (the request's cost is then unknown, never 0).
    """
    overrides = team_overrides(team.pk) if models else {}
    snapshots = {}
    for model_id, model in models.items():
        base = model.price_snapshot() if model is not None else None
        override = overrides.get(model_id)
        snapshots[model_id] = override_snapshot(base, override) if override else base
    return snapshots
