"""The public catalog format, https://neon.com/models.json and models.dev's api.json, into catalog.json entries.

Its shape: docs/gateway.md, "The model catalog and prices". Converted into catalog.json
entries so one validator (`catalog.parse_entry`) and one sync (`catalog.sync_catalog`)
serve both. What the public format lacks (our notes, what a model accepts beyond
`temperature`) comes from the rows already stored, or from gateway/quirks.py for a
model seen for the first time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from .catalog import DEFAULTS, Entry, fail, parse_entry, parse_price, price_key
from .pricing import RATE_NAMES
from .quirks import QUIRK_DEFAULTS, infer, infer_endpoints, infer_provider, normalize_model_id

# models.dev's `context_over_200k` is a context tier under another name.
CONTEXT_OVER_200K = 200_000


def _models_object(payload: object) -> dict[str, Any]:
    """The {"<id>": model} object of any accepted wrapping: {"neon": {...}}, {"models": {...}} or a provider."""
    if not isinstance(payload, dict):
        raise ValueError(f"expected a JSON object, not {type(payload).__name__}")
    neon = payload.get("neon")
    if isinstance(neon, dict):
        payload = neon
    if "models" not in payload:
        raise ValueError('no "models" object (expected {"neon": {"models": {...}}} or {"models": {...}})')
    models = payload["models"]
    if isinstance(models, list):
        # A list of models with their ids inside is unambiguous too.
        keyed: dict[str, Any] = {}
        for position, model in enumerate(models):
            if not isinstance(model, dict) or not isinstance(model.get("id"), str):
                raise ValueError(f'model #{position}: must be an object with an "id"')
            keyed[model["id"]] = model
        return keyed
    if not isinstance(models, dict):
        raise ValueError(f'"models" must be an object keyed by model id, not {type(models).__name__}')
    return models


def _object(label: str, model: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = model.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail(label, name, f"must be an object, not {type(value).__name__}")
    return value


def _public_rate(value: Any) -> Any:
    # models.dev writes 0 where no price is published; 0 would read as free here, so it is unknown.
    if value == 0 and not isinstance(value, bool):
        return None
    return value


def _public_price(label: str, cost: Mapping[str, Any]) -> dict[str, Any]:
    price: dict[str, Any] = {key: _public_rate(cost.get(key)) for key in RATE_NAMES}
    tiers = cost.get("tiers")
    if tiers is None:
        tiers = []
    if not isinstance(tiers, list):
        fail(label, "cost.tiers", "must be a list")
    tiers = [
        {name: _public_rate(value) for name, value in tier.items()} if isinstance(tier, dict) else tier
        for tier in tiers
    ]
    over = cost.get("context_over_200k")
    if over is not None:
        if not isinstance(over, dict):
            fail(label, "cost.context_over_200k", "must be an object")
        sizes = {(tier.get("tier") or {}).get("size") for tier in tiers if isinstance(tier, dict)}
        if CONTEXT_OVER_200K not in sizes:
            rates = {key: _public_rate(over[key]) for key in RATE_NAMES if key in over}
            tiers.append({"tier": {"type": "context", "size": CONTEXT_OVER_200K}, **rates})
    price["tiers"] = tiers
    return price


def _public_count(value: Any) -> Any:
    # models.dev writes 0 for an unpublished limit.
    return None if value == 0 and not isinstance(value, bool) else value


def _flag(model: Mapping[str, Any], public_name: str, name: str) -> Any:
    # Absent or null: the catalog default (a missing `released` is true, docs/gateway.md).
    value = model.get(public_name)
    return DEFAULTS[name] if value is None else value


def _from_public_model(key: str, model: object) -> Entry:
    if not isinstance(model, dict):
        raise ValueError(f"catalog model {key!r}: must be an object, not {type(model).__name__}")
    raw_id = model.get("id", key)
    if not isinstance(raw_id, str) or not raw_id.strip():
        raise ValueError(f"catalog model {key!r}: field 'id' must be a non-empty string")
    model_id = normalize_model_id(raw_id)
    label = repr(model_id)
    kind = "embedding" if model.get("type") == "embedding" else "chat"
    provider = model.get("provider")
    # A per-model provider *object* is an SDK override (npm package, URL), not the lab.
    if not isinstance(provider, str) or not provider.strip():
        provider = infer_provider(model_id)
    provider = provider.strip().lower()
    modalities = _object(label, model, "modalities")
    limit = _object(label, model, "limit")
    output_modalities = modalities.get("output")
    if output_modalities is None:
        output_modalities = ["embedding"] if kind == "embedding" else ["text"]
    entry: Entry = {
        "id": model_id,
        "name": model.get("name") or model_id,
        "provider": provider,
        "family": model.get("family") or "",
        "kind": kind,
        "input_modalities": modalities.get("input") if modalities.get("input") is not None else ["text"],
        "output_modalities": output_modalities,
        "context_window": _public_count(limit.get("context")),
        "max_output": _public_count(limit.get("output")),
        "endpoints": infer_endpoints(model_id, provider, kind),
        "tools": _flag(model, "tool_call", "tools"),
        "reasoning": _flag(model, "reasoning", "reasoning"),
        "reasoning_options": model.get("reasoning_options") or [],
        "temperature": _flag(model, "temperature", "temperature"),
        "open_weights": _flag(model, "open_weights", "open_weights"),
        "release_date": model.get("release_date") or None,
        # A missing `released` means released (docs/gateway.md, "The model catalog and prices").
        "released": _flag(model, "released", "released"),
        "price": _public_price(label, _object(label, model, "cost")),
        # What the model accepts beyond `temperature`: not in the public format, so guessed
        # from the id (a model already stored keeps its own, see fill_from_stored).
        **infer(model_id),
    }
    # Validated here so an error names the source's model, not a later sync step.
    parse_entry(entry)
    return entry


def from_models_dev(payload: object) -> list[Entry]:
    """catalog.json entries (without `notes`, which the public format lacks) from a public catalog.

    Raises ValueError naming the problem: no models object, a model with a bad field.
    """
    models = _models_object(payload)
    if not models:
        raise ValueError('the "models" object is empty')
    entries: list[Entry] = []
    seen: set[str] = set()
    for key, model in models.items():
        entry = _from_public_model(key, model)
        if entry["id"] in seen:
            raise ValueError(f"catalog model {entry['id']!r}: listed twice (with and without a prefix?)")
        seen.add(entry["id"])
        entries.append(entry)
    return entries


def fill_from_stored(entries: list[Entry], rows: Mapping[str, Any], today: date) -> list[Entry]:
    """Fill in what the public format lacks from the rows already stored (GatewayModel by id).

    The hand-written notes are kept. A price that did not change keeps its source and date,
    so a sync of the same figures changes nothing; a changed or new price is dated today,
    the day it was seen.
    """
    for entry in entries:
        row = rows.get(entry["id"])
        entry.setdefault("notes", row.notes if row else "")
        if row is not None:
            entry.update({name: getattr(row, name) for name in QUIRK_DEFAULTS})
        price = entry["price"]
        clean = parse_price(repr(entry["id"]), entry)
        if row is not None and price_key(
            {key: getattr(row, f"price_{key}") for key in RATE_NAMES}, row.price_tiers
        ) == price_key(clean, clean["tiers"]):
            price["source"], price["effective"] = row.price_source, row.price_effective
        elif not price.get("effective"):
            price["effective"] = today
    return entries
