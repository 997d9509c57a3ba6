"""The model catalog file (catalog.json) and its sync into GatewayModel / ModelPrice.

catalog.json is the committed seed: the 25 models of the models.dev snapshot f3fc692 with
their exact figures, plus the models Neon added later with whatever the docs state
(docs/gateway.md, "The model catalog and prices"). A price that was never published is null, never 0: the
usage pages show "unknown" for it instead of pricing a request at zero.

The sync functions take the model classes as arguments so that the data migration can
pass its historical models (`apps.get_model`), which have none of the custom managers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn

from django.db import transaction
from django.utils import timezone

from .pricing import RATE_NAMES
from .quirks import (
    CATALOG_PATH,
    QUIRK_BOOL_FIELDS,
    QUIRK_DEFAULTS,
    REFUSABLE_PARAMS,
    normalize_model_id,
)

KINDS = ("chat", "embedding")
ENDPOINTS = ("chat_completions", "openai_responses", "anthropic_messages", "gemini", "embeddings")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

# Optional fields and their defaults. A missing `released` means released (docs/gateway.md, "The model catalog and prices").
DEFAULTS = {
    "family": "",
    "context_window": None,
    "max_output": None,
    "tools": False,
    "reasoning": False,
    "reasoning_options": [],
    "temperature": True,
    "open_weights": False,
    "release_date": None,
    "released": True,
    "notes": "",
    **QUIRK_DEFAULTS,
}
# One model as catalog.json writes it (raw), or as parse_entry returns it (typed).
Entry = dict[str, Any]
Rate = Decimal | None

BOOL_FIELDS = ("tools", "reasoning", "temperature", "open_weights", "released", *QUIRK_BOOL_FIELDS)


class _Invalid(ValueError):
    pass


def fail(label: str, name: str, problem: str) -> NoReturn:
    raise _Invalid(f"catalog model {label}: field {name!r} {problem}")


def _str(label: str, entry: Entry, name: str, *, required: bool = False, max_length: int | None = None) -> str:
    value = entry.get(name, DEFAULTS.get(name, ""))
    if value is None and not required:
        value = ""
    if not isinstance(value, str):
        fail(label, name, f"must be a string, not {type(value).__name__}")
    if required and not value.strip():
        fail(label, name, "is required")
    if max_length and len(value) > max_length:
        fail(label, name, f"is longer than {max_length} characters")
    return value


def _str_list(
    label: str, entry: Entry, name: str, *, required: bool = False, allowed: Iterable[str] | None = None
) -> list[str]:
    value = entry.get(name, DEFAULTS.get(name, []))
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        fail(label, name, "must be a list of strings")
    if required and not value:
        fail(label, name, "must not be empty")
    if allowed:
        allowed = tuple(allowed)
        unknown = [item for item in value if item not in allowed]
        if unknown:
            fail(label, name, f"has unknown values {unknown} (allowed: {', '.join(allowed)})")
    return list(value)


def _count(label: str, entry: Entry, name: str) -> int | None:
    value = entry.get(name, DEFAULTS.get(name))
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        fail(label, name, f"must be a positive integer or null, not {value!r}")
    return value


def _date(label: str, name: str, value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    fail(label, name, f"must be an ISO date (YYYY-MM-DD) or null, not {value!r}")


def _rate(label: str, name: str, value: object) -> Rate:
    """A price per 1M tokens as Decimal; None when unknown. Zero is refused: it would read as free."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        fail(label, name, f"must be a number or null, not {value!r}")
    try:
        # str() first so 0.072 stays 0.072 rather than its binary float expansion.
        rate = Decimal(str(value))
    except InvalidOperation:
        fail(label, name, f"must be a number or null, not {value!r}")
    if not rate.is_finite() or rate < 0:
        fail(label, name, f"must be a non-negative number, not {value!r}")
    if rate == 0:
        fail(label, name, "is 0; use null for an unknown price (0 would mean free)")
    return rate


def _tiers(label: str, value: object) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        fail(label, "price.tiers", "must be a list")
    tiers: list[dict[str, Any]] = []
    for i, tier in enumerate(value):
        name = f"price.tiers[{i}]"
        if not isinstance(tier, dict) or not isinstance(tier.get("tier"), dict):
            fail(label, name, 'must look like {"tier": {"type": "context", "size": N}, "input": ...}')
        size = tier["tier"].get("size")
        if tier["tier"].get("type") != "context" or isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            fail(label, name, "must have tier.type 'context' and a positive integer tier.size")
        clean: dict[str, Any] = {"tier": {"type": "context", "size": size}}
        for key in RATE_NAMES:
            if key in tier:
                rate = _rate(label, f"{name}.{key}", tier[key])
                # Stored in a JSONField: keep a JSON number, exact for the catalog's short decimals.
                clean[key] = None if rate is None else _json_number(rate)
        tiers.append(clean)
    return tiers


def _json_number(rate: Decimal) -> int | float:
    return int(rate) if rate == rate.to_integral_value() else float(rate)


def parse_price(label: str, entry: Entry) -> dict[str, Any]:
    price = entry.get("price")
    if price is None:
        price = {}
    if not isinstance(price, dict):
        fail(label, "price", "must be an object")
    clean: dict[str, Any] = {key: _rate(label, f"price.{key}", price.get(key)) for key in RATE_NAMES}
    clean["tiers"] = _tiers(label, price.get("tiers"))
    source = price.get("source") or ""
    if not isinstance(source, str) or len(source) > 200:
        fail(label, "price.source", "must be a string of at most 200 characters")
    clean["source"] = source
    clean["effective"] = _date(label, "price.effective", price.get("effective"))
    return clean


def parse_entry(entry: object, position: int | None = None) -> Entry:
    """One catalog entry, validated and typed (Decimal prices, date objects).

    Accepts its own output, so callers may parse before calling sync_catalog. Raises
    ValueError naming the model and the field.
    """
    where = f"#{position}" if position is not None else "?"
    if not isinstance(entry, dict):
        raise ValueError(f"catalog model {where}: must be an object, not {type(entry).__name__}")
    raw_id = entry.get("id")
    label = repr(raw_id) if isinstance(raw_id, str) and raw_id else where
    model_id = _str(label, entry, "id", required=True, max_length=100)
    if model_id != normalize_model_id(model_id) or not ID_RE.match(model_id):
        fail(label, "id", "must be the short lowercase id (no databricks- or neon/ prefix, no spaces)")
    kind = entry.get("kind", "chat")
    if kind not in KINDS:
        fail(label, "kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    parsed: Entry = {
        "id": model_id,
        "name": _str(label, entry, "name", required=True, max_length=200),
        "provider": _str(label, entry, "provider", required=True, max_length=50).lower(),
        "family": _str(label, entry, "family", max_length=100),
        "kind": kind,
        "input_modalities": _str_list(label, entry, "input_modalities", required=True),
        "output_modalities": _str_list(label, entry, "output_modalities", required=True),
        "context_window": _count(label, entry, "context_window"),
        "max_output": _count(label, entry, "max_output"),
        "endpoints": _str_list(label, entry, "endpoints", required=True, allowed=ENDPOINTS),
        "refused_params": _str_list(label, entry, "refused_params", allowed=REFUSABLE_PARAMS),
        "reasoning_options": entry.get("reasoning_options") or [],
        "release_date": _date(label, "release_date", entry.get("release_date")),
        "notes": _str(label, entry, "notes"),
        "price": parse_price(label, entry),
    }
    if not isinstance(parsed["reasoning_options"], list) or not all(
        isinstance(option, dict) and isinstance(option.get("type"), str) for option in parsed["reasoning_options"]
    ):
        fail(label, "reasoning_options", 'must be a list of objects with a "type"')
    for name in BOOL_FIELDS:
        value = entry.get(name, DEFAULTS[name])
        if not isinstance(value, bool):
            fail(label, name, f"must be true or false, not {value!r}")
        parsed[name] = value
    return parsed


def load_catalog(path: str | Path | None = None) -> list[Entry]:
    """The entries of a catalog file, validated; raises ValueError naming the model and field."""
    path = Path(path) if path else CATALOG_PATH
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path.name}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("models"), list):
        raise ValueError(f'{path.name}: expected an object with a "models" list')
    entries: list[Entry] = []
    seen: set[str] = set()
    for position, raw in enumerate(document["models"]):
        entry = parse_entry(raw, position)
        if entry["id"] in seen:
            raise ValueError(f"catalog model {entry['id']!r}: field 'id' is duplicated")
        seen.add(entry["id"])
        entries.append(entry)
    return entries


@dataclass
class SyncReport:
    source: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    prices_added: list[str] = field(default_factory=list)
    # In the database but not in the entries: left alone (a sync never deletes).
    missing: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.source}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {len(self.prices_added)} price changes recorded, "
            f"{len(self.missing)} not in source"
        )


ROW_FIELDS = (
    "name",
    "provider",
    "family",
    "kind",
    "input_modalities",
    "output_modalities",
    "context_window",
    "max_output",
    "endpoints",
    "tools",
    "reasoning",
    "reasoning_options",
    "temperature",
    "single_sampling_param",
    "refused_params",
    "stream_options",
    "usage_every_chunk",
    "content_parts",
    "open_weights",
    "release_date",
    "released",
    "notes",
)


def _row_values(entry: Entry, source: str) -> dict[str, Any]:
    values = {name: entry[name] for name in ROW_FIELDS}
    price = entry["price"]
    for key in RATE_NAMES:
        values[f"price_{key}"] = price[key]
    values["price_tiers"] = price["tiers"]
    values["price_source"] = price["source"] or source
    values["price_effective"] = price["effective"]
    return values


PriceKey = tuple[tuple[Rate, ...], tuple[Any, ...]]


def price_key(rates: Mapping[str, Any], tiers: Iterable[Mapping[str, Any]] | None) -> PriceKey:
    """Comparable form of a price, so 1 == 1.000000 and tier floats compare as decimals."""

    def dec(value: object) -> Rate:
        return None if value is None else Decimal(str(value)).normalize()

    tier_key = tuple(
        sorted(
            ((tier.get("tier") or {}).get("size"), tuple(dec(tier.get(key)) for key in RATE_NAMES))
            for tier in tiers or ()
        )
    )
    return tuple(dec(rates.get(key)) for key in RATE_NAMES), tier_key


def _stored_price_key(price_row: Any) -> PriceKey:
    return price_key({key: getattr(price_row, key) for key in RATE_NAMES}, price_row.tiers)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (a is None) == (b is None) and (a is None or Decimal(a) == Decimal(b))
    return a == b


def sync_catalog(
    entries: Iterable[Entry],
    source: str,
    *,
    model_class: Any = None,
    price_class: Any = None,
    today: date | None = None,
) -> SyncReport:
    """Upsert GatewayModel rows from catalog entries and record price changes in ModelPrice.

    The current price is copied onto the row (the Models page filters on it). A ModelPrice row is
    added when the price differs from the model's latest one; history is never deleted. A price
    change is dated by the entry's `effective` date when that is newer than the latest recorded
    one, otherwise by today (the day the change was seen); two changes on one day keep the last.
    """
    if model_class is None or price_class is None:
        from gateway.models import GatewayModel, ModelPrice

        model_class = model_class or GatewayModel
        price_class = price_class or ModelPrice
    today = today or timezone.localdate()
    parsed = [parse_entry(entry, position) for position, entry in enumerate(entries)]
    report = SyncReport(source=source)
    with transaction.atomic():
        existing = {row.id: row for row in model_class.objects.all()}
        latest: dict[str, Any] = {}
        for price_row in price_class.objects.order_by("model_id", "-effective_from"):
            latest.setdefault(price_row.model_id, price_row)
        # A data migration passes a historical model, which may lack fields added later.
        columns = {f.name for f in model_class._meta.get_fields()}
        for entry in parsed:
            values = {name: value for name, value in _row_values(entry, source).items() if name in columns}
            row = existing.get(entry["id"])
            now = timezone.now()
            if row is None:
                row = model_class.objects.create(id=entry["id"], updated=now, **values)
                existing[row.id] = row
                report.created.append(row.id)
            else:
                changed = [name for name, value in values.items() if not _same(getattr(row, name), value)]
                if changed:
                    for name in changed:
                        setattr(row, name, values[name])
                    row.updated = now
                    row.save(update_fields=[*changed, "updated"])
                    report.updated.append(row.id)
                else:
                    report.unchanged.append(row.id)
            _record_price(row, entry, values["price_source"], latest.get(row.id), price_class, today, report)
        seen = {entry["id"] for entry in parsed}
        report.missing = sorted(model_id for model_id in existing if model_id not in seen)
    return report


def _record_price(
    row: Any, entry: Entry, source: str, latest: Any, price_class: Any, today: date, report: SyncReport
) -> None:
    price = entry["price"]
    key = price_key(price, price["tiers"])
    if latest is None:
        if all(value is None for value in key[0]) and not key[1]:
            return  # Nothing known yet: no history to start.
    elif _stored_price_key(latest) == key:
        return
    effective = price["effective"] or today
    if latest is not None and effective <= latest.effective_from:
        effective = max(today, latest.effective_from)
    price_class.objects.update_or_create(
        model=row,
        effective_from=effective,
        defaults={
            **{key_name: price[key_name] for key_name in RATE_NAMES},
            "tiers": price["tiers"],
            "source": source or "unknown",
            "created": timezone.now(),
        },
    )
    report.prices_added.append(row.id)


def seed(model_class: Any = None, price_class: Any = None, path: str | Path | None = None) -> SyncReport:
    """Load catalog.json into the database (used by migration 0002; safe to run again)."""
    return sync_catalog(load_catalog(path), "gateway/catalog.json", model_class=model_class, price_class=price_class)
