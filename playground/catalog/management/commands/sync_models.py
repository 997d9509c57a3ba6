"""Refresh the model catalog from the public catalog, and a branch's model list from its gateway.

    python manage.py sync_models --url https://neon.com/models.json
    python manage.py sync_models --file models.json --dry-run
    python manage.py sync_models --branch <branch code>

The file or URL is in the public format (neon.com/models.json or models.dev's api.json,
docs/gateway.md). Prices come from there; what a branch may call comes from its
GET /v1/models (10.1), which has no prices. Models missing from the source are kept:
a sync never deletes, because past requests point at them.
"""

import json
from decimal import Decimal
from pathlib import Path

from asgiref.sync import async_to_sync
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from gateway import catalog, client, public_catalog
from gateway.models import GatewayModel
from gateway.pricing import RATE_NAMES
from playground.http import gateway_client
from playground.teams.checks import scrub
from playground.teams.models import Branch
from playground.teams.validation import validate_base_url

PRICE_FIELDS = {f"price_{key}": key for key in RATE_NAMES}
# Bookkeeping that changes with every sync; not worth a line in the report.
QUIET_FIELDS = ("updated", "price_source", "price_effective")
SOURCE_MAX = 200  # GatewayModel.price_source


class Command(BaseCommand):
    help = "Update the model catalog from models.json (file or URL) and a branch's model list from its gateway."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--file", help="A catalog file in the models.json / models.dev api.json format.")
        source.add_argument("--url", help="A catalog URL, such as https://neon.com/models.json (fetched without auth).")
        parser.add_argument("--branch", help="Code of a branch whose GET /v1/models to record.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; save nothing.")

    def handle(self, *args, file, url, branch, dry_run, **options):
        if not (file or url or branch):
            raise CommandError("Give --file PATH or --url URL (the catalog), and/or --branch CODE.")
        entries, source = (None, "")
        if file or url:
            entries, source = self._read_source(file, url)
        branch_obj, listed = (None, None)
        if branch:
            branch_obj = self._get_branch(branch)
            listed = self._list_models(branch_obj)
        with transaction.atomic():
            if entries is not None:
                self._sync(entries, source)
            if branch_obj is not None:
                self._record_branch(branch_obj, listed)
            if dry_run:
                transaction.set_rollback(True)
                self.stdout.write("Dry run: nothing was saved.")

    # ---- the catalog -----------------------------------------------------------------

    def _read_source(self, file, url):
        if file:
            path = Path(file)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"Cannot read {path}: {exc}") from None
            try:
                payload = json.loads(text)
            except ValueError as exc:
                raise CommandError(f"{path} is not valid JSON ({exc}).") from None
            where = str(path)
        else:
            try:
                payload = async_to_sync(_fetch)(url)
            except client.GatewayError as exc:
                raise CommandError(exc.message) from None
            where = url
        try:
            entries = public_catalog.from_models_dev(payload)
        except ValueError as exc:
            raise CommandError(f"{where}: {exc}") from None
        source = f"{where} ({timezone.localdate().isoformat()})"
        if len(source) > SOURCE_MAX:
            source = "..." + source[-(SOURCE_MAX - 3) :]
        return entries, source

    def _sync(self, entries, source):
        before = _rows()
        public_catalog.fill_from_stored(entries, GatewayModel.objects.in_bulk(), timezone.localdate())
        try:
            report = catalog.sync_catalog(entries, source)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        after = _rows()
        # sync_catalog counts a row as updated when anything changed; only what a reader cares about counts here.
        changes = {model_id: _changes(before[model_id], after[model_id]) for model_id in report.updated}
        updated = [model_id for model_id in report.updated if changes[model_id]]
        unchanged = len(report.unchanged) + len(report.updated) - len(updated)
        write = self.stdout.write
        write(f"Catalog from {source}")
        write(f"  Added ({len(report.created)}): {_ids(report.created)}")
        write(f"  Updated ({len(updated)}){':' if updated else ''}")
        for model_id in updated:
            write(f"    {model_id}: {changes[model_id]}")
        write(f"  Unchanged ({unchanged})")
        write(f"  Not in the source, kept ({len(report.missing)}): {_ids(report.missing)}")

    # ---- a branch's model list -------------------------------------------------------

    def _get_branch(self, code):
        try:
            return Branch.objects.select_related("team").get(code=code)
        except (Branch.DoesNotExist, ValidationError, ValueError):
            raise CommandError(f"No branch with code {code!r}.") from None

    def _list_models(self, branch):
        token = branch.token()
        try:
            # The host's DNS may have changed since the URL was saved (as the branch check does).
            validate_base_url(branch.base_url)
            return async_to_sync(_list)(branch.base_url, token)
        except ValidationError as exc:
            raise CommandError(scrub(" ".join(exc.messages), token)) from None
        except client.GatewayError as exc:
            status = f"HTTP {exc.status}: " if exc.status else ""
            raise CommandError(scrub(f"{branch}: GET /v1/models failed: {status}{exc.message}", token)) from None

    def _record_branch(self, branch, listed):
        branch.model_ids = [m["id"] for m in listed]
        branch.models_enabled = {m["id"]: m["enabled"] for m in listed}
        branch.save(update_fields=["model_ids", "models_enabled"])
        known = set(GatewayModel.objects.values_list("id", flat=True))
        unknown = [m["id"] for m in listed if catalog.normalize_model_id(m["id"]) not in known]
        disabled = [m["id"] for m in listed if not m["enabled"]]
        write = self.stdout.write
        write(f"Branch {branch.name} ({branch.code}) of team {branch.team.name}: {len(listed)} models listed")
        write(f"  Not in the catalog ({len(unknown)}): {_ids(unknown)}")
        write(f"  Disabled, need a verified account ({len(disabled)}): {_ids(disabled)}")


async def _fetch(url):
    # async_to_sync gives this command its own event loop, and the shared client made for
    # that loop dies with it: close it rather than leave its sockets to the garbage collector.
    http = gateway_client()
    try:
        return await client.fetch_json(http, url)
    finally:
        await http.aclose()


async def _list(base_url, token):
    http = gateway_client()
    try:
        return await client.list_models(http, base_url=base_url, token=token)
    finally:
        await http.aclose()


def _rows():
    return {row["id"]: row for row in GatewayModel.objects.values()}


def _ids(ids):
    return ", ".join(ids) if ids else "none"


def _show(value):
    if value is None:
        return "unknown"
    return f"{value.normalize():f}" if isinstance(value, Decimal) else str(value)


def _changes(old, new):
    """What changed on one model: prices as old -> new, other fields by name."""
    prices = [
        f"{key} {_show(old[name])} -> {_show(new[name])}"
        for name, key in PRICE_FIELDS.items()
        if old[name] != new[name]
    ]
    if old["price_tiers"] != new["price_tiers"]:
        prices.append("context tiers changed")
    others = [
        name
        for name in new
        if name not in PRICE_FIELDS and name not in QUIET_FIELDS and name != "price_tiers" and old[name] != new[name]
    ]
    parts = []
    if prices:
        parts.append("price " + ", ".join(prices))
    if others:
        parts.append("changed " + ", ".join(others))
    return "; ".join(parts)
