"""manage.py sync_models: the public catalog format, the report, --dry-run, --url and --branch."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import httpx
import pytest
import time_machine
from django.core.management import CommandError, call_command

from gateway import catalog as gateway_catalog
from gateway import client as gateway_client_module
from gateway.catalog import load_catalog
from gateway.client import GatewayError, fetch_json
from gateway.models import GatewayModel, ModelPrice
from gateway.pricing import RATE_NAMES
from gateway.public_catalog import from_models_dev
from playground.teams.models import Branch
from tests.conftest import TOKEN, free_port, start_daphne

pytestmark = pytest.mark.django_db


def public_model(entry):
    """A catalog.json entry written the way neon.com/models.json writes it (docs/gateway.md)."""
    price = entry["price"]
    cost = {key: price[key] for key in RATE_NAMES if price[key] is not None}
    if price["tiers"]:
        cost["tiers"] = price["tiers"]
    model = {
        "id": entry["id"],
        "name": entry["name"],
        "provider": entry["provider"],
        "family": entry["family"],
        "attachment": "image" in entry["input_modalities"],
        "reasoning": entry["reasoning"],
        "reasoning_options": entry["reasoning_options"],
        "tool_call": entry["tools"],
        "temperature": entry["temperature"],
        "open_weights": entry["open_weights"],
        "release_date": entry["release_date"].isoformat() if entry["release_date"] else None,
        "last_updated": "2026-11-01",
        "modalities": {"input": entry["input_modalities"], "output": entry["output_modalities"]},
        "limit": {"context": entry["context_window"] or 0, "output": entry["max_output"] or 0},
        "cost": cost,
    }
    if entry["kind"] == "embedding":
        model["type"] = "embedding"
    if not entry["released"]:
        model["released"] = False
    return model


def public_catalog():
    """The committed catalog as {"neon": {"models": {...}}}, the way models.json wraps it."""
    return {
        "neon": {
            "id": "neon",
            "name": "Neon AI Gateway",
            "api": "${NEON_AI_GATEWAY_BASE_URL}/v1",
            "models": {e["id"]: public_model(e) for e in load_catalog()},
        }
    }


def write(tmp_path, payload, name="models.json"):
    path = tmp_path / name
    # Decimal rates from load_catalog() go out as JSON numbers (float() of a short decimal round-trips).
    path.write_text(payload if isinstance(payload, str) else json.dumps(payload, default=float))
    return str(path)


def sync(*args):
    out = StringIO()
    call_command("sync_models", *args, stdout=out)
    return out.getvalue()


# ---- the converter -------------------------------------------------------------------


def test_the_converter_reproduces_every_committed_catalog_entry_but_its_notes():
    committed = {e["id"]: e for e in load_catalog()}
    converted = {e["id"]: gateway_catalog.parse_entry(e) for e in from_models_dev(public_catalog())}
    assert converted.keys() == committed.keys()
    for model_id, entry in committed.items():
        got = converted[model_id]
        # Endpoints are not in the public format: inferred by the rules catalog.json follows.
        assert got["endpoints"] == entry["endpoints"], model_id
        for name in gateway_catalog.ROW_FIELDS:
            if name != "notes":
                assert got[name] == entry[name], (model_id, name)
        for key in RATE_NAMES:
            assert got["price"][key] == entry["price"][key], (model_id, key)
        assert got["price"]["tiers"] == entry["price"]["tiers"], model_id


def test_the_converter_fills_what_the_public_format_leaves_out():
    entries = from_models_dev(
        {
            "models": {
                "databricks-gemini-9-pro": {
                    "name": "Gemini 9 Pro",
                    "modalities": {"input": ["text", "audio"], "output": ["text"]},
                    "limit": {"context": 0, "output": 65536},
                    "cost": {
                        "input": 2,
                        "output": 12,
                        "cache_read": 0,
                        "context_over_200k": {"input": 4, "output": 18, "cache_read": 0.4},
                    },
                },
                "text-embed-9": {"name": "Embed", "provider": "Alibaba", "type": "embedding", "released": False},
            }
        }
    )
    gemini, embed = entries
    assert gemini["id"] == "gemini-9-pro"  # the databricks- prefix is dropped
    assert gemini["provider"] == "google"  # inferred from the id
    assert gemini["endpoints"] == ["chat_completions", "gemini"]
    assert gemini["released"] is True  # missing `released` means released
    assert gemini["context_window"] is None  # models.dev's 0 means unpublished
    assert gemini["price"]["cache_read"] is None  # ... for prices too: 0 would read as free
    assert gemini["price"]["tiers"] == [
        {"tier": {"type": "context", "size": 200000}, "input": 4, "output": 18, "cache_read": 0.4}
    ]
    assert (embed["kind"], embed["provider"], embed["endpoints"]) == ("embedding", "alibaba", ["embeddings"])
    assert embed["output_modalities"] == ["embedding"]
    assert embed["released"] is False


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        ([], "expected a JSON object"),
        ({"openai": {"models": {}}}, 'no "models" object'),
        ({"models": []}, "empty"),
        ({"models": "gpt-5"}, "must be an object keyed by model id"),
        ({"models": {"gpt-5": "cheap"}}, "catalog model 'gpt-5': must be an object"),
        ({"models": {"gpt-5": {"name": "GPT-5", "cost": {"input": "cheap"}}}}, "'gpt-5': field 'price.input'"),
        ({"models": {"gpt-5": {"name": "GPT-5", "cost": {"input": -1}}}}, "must be a non-negative number"),
        ({"models": {"gpt-5": {"name": "GPT-5", "cost": []}}}, "field 'cost' must be an object"),
        ({"models": {"gpt-5": {"name": "GPT-5", "limit": {"context": -5}}}}, "field 'context_window'"),
        ({"models": {"gpt-5": {"name": "GPT-5", "tool_call": "yes"}}}, "field 'tools' must be true or false"),
        ({"models": {"gpt-5": {}, "databricks-gpt-5": {}}}, "listed twice"),
    ],
)
def test_the_converter_names_the_problem_with_a_malformed_catalog(payload, problem):
    with pytest.raises(ValueError, match=None) as caught:
        from_models_dev(payload)
    assert problem in str(caught.value)


# ---- the command ---------------------------------------------------------------------


def test_syncing_the_same_figures_changes_nothing_and_keeps_the_notes(tmp_path, catalog):
    notes = dict(GatewayModel.objects.values_list("id", "notes"))
    sources = dict(GatewayModel.objects.values_list("id", "price_source"))
    prices = ModelPrice.objects.count()
    output = sync("--file", write(tmp_path, public_catalog()))
    assert "Added (0): none" in output
    assert "Updated (0)" in output
    assert f"Unchanged ({len(notes)})" in output
    assert dict(GatewayModel.objects.values_list("id", "notes")) == notes
    assert dict(GatewayModel.objects.values_list("id", "price_source")) == sources
    assert ModelPrice.objects.count() == prices


@pytest.mark.parametrize("wrapping", ["neon", "bare", "provider"])
def test_a_sync_reports_added_updated_and_missing_models_and_deletes_nothing(tmp_path, catalog, wrapping):
    document = public_catalog()
    models = document["neon"]["models"]
    models["gpt-5-mini"]["cost"]["input"] = 0.3
    models["gpt-5-mini"]["limit"]["context"] = 500000
    del models["gpt-5-nano"]
    models["house-model"] = {"id": "house-model", "name": "House", "provider": "openai", "cost": {"input": 1}}
    payload = {"neon": document["neon"], "bare": {"models": models}, "provider": document["neon"]}[wrapping]
    path = write(tmp_path, payload)
    with time_machine.travel("2027-03-01 12:00Z"):
        output = sync("--file", path)
    assert f"Catalog from {path} (2027-03-01)" in output
    assert "Added (1): house-model" in output
    assert "Updated (1):" in output
    assert "gpt-5-mini: price input 0.25 -> 0.3; changed context_window" in output
    assert "Not in the source, kept (1): gpt-5-nano" in output
    assert GatewayModel.objects.filter(id="gpt-5-nano").exists()
    mini = GatewayModel.objects.get(id="gpt-5-mini")
    assert (mini.price_input, mini.context_window, mini.price_effective) == (Decimal("0.3"), 500000, date(2027, 3, 1))
    assert mini.price_source == f"{path} (2027-03-01)"
    latest = mini.prices.order_by("-effective_from").first()
    assert (latest.effective_from, latest.input) == (date(2027, 3, 1), Decimal("0.3"))
    house = GatewayModel.objects.get(id="house-model")
    assert (house.price_input, house.price_output, house.endpoints) == (Decimal("1"), None, ["chat_completions"])


def test_a_dry_run_reports_the_changes_and_saves_nothing(tmp_path, catalog):
    document = public_catalog()
    document["neon"]["models"]["gpt-5"]["cost"]["output"] = 12
    before = list(GatewayModel.objects.values())
    prices = ModelPrice.objects.count()
    output = sync("--file", write(tmp_path, document), "--dry-run")
    assert "gpt-5: price output 10 -> 12" in output
    assert "Dry run: nothing was saved." in output
    assert list(GatewayModel.objects.values()) == before
    assert ModelPrice.objects.count() == prices


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ({"version": 1}, 'no "models" object'),
        ({"models": {"gpt-5": {"name": "GPT-5", "cost": {"output": "ten"}}}}, "'gpt-5': field 'price.output'"),
        ({"models": {"Bad Id": {"name": "x"}}}, "field 'id' must be the short lowercase id"),
    ],
)
def test_a_malformed_file_is_a_command_error_naming_the_problem(tmp_path, catalog, content, problem):
    before = list(GatewayModel.objects.values())
    with pytest.raises(CommandError) as caught:
        sync("--file", write(tmp_path, content))
    assert problem in str(caught.value)
    assert list(GatewayModel.objects.values()) == before


def test_a_missing_file_or_no_source_at_all_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        sync("--file", str(tmp_path / "nope.json"))
    with pytest.raises(CommandError, match="--file PATH or --url URL"):
        sync()


def test_a_url_is_fetched_through_the_client_seam(tmp_path, catalog, monkeypatch):
    fetched = []

    async def fake_fetch(client, url):
        fetched.append((type(client), url))
        document = public_catalog()
        document["neon"]["models"]["gpt-5-4"]["cost"]["tiers"][0]["input"] = 6
        return document

    monkeypatch.setattr(gateway_client_module, "fetch_json", fake_fetch)
    output = sync("--url", "https://neon.com/models.json")
    # The gateway client: httpx's AsyncClient, keeping no cookies (gateway.client).
    assert fetched == [(gateway_client_module.GatewayClient, "https://neon.com/models.json")]
    assert "Catalog from https://neon.com/models.json (" in output
    assert "gpt-5-4: price context tiers changed" in output


def test_a_failed_fetch_is_a_command_error(monkeypatch):
    async def failing_fetch(client, url):
        raise GatewayError(404, "http_404", f"{url} answered HTTP 404.")

    monkeypatch.setattr(gateway_client_module, "fetch_json", failing_fetch)
    with pytest.raises(CommandError, match="answered HTTP 404"):
        sync("--url", "https://neon.com/nope.json")


# ---- fetch_json ----------------------------------------------------------------------


def transport(handler):
    return httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)


async def test_fetch_json_sends_no_credential_and_parses_the_body():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"neon": {"models": {}}})

    async with transport(handler) as client:
        assert await fetch_json(client, "https://neon.com/models.json") == {"neon": {"models": {}}}
    assert "authorization" not in seen[0].headers


@pytest.mark.parametrize(
    ("response", "code", "words"),
    [
        (httpx.Response(404, text="not here"), "http_404", "answered HTTP 404"),
        (httpx.Response(200, text="<html>"), "invalid_json", "did not answer with valid JSON"),
        (httpx.Response(301, headers={"location": "https://evil.example/x"}), "redirect", "redirect"),
    ],
)
async def test_fetch_json_raises_a_gateway_error_it_explains(response, code, words):
    async with transport(lambda request: response) as client:
        with pytest.raises(GatewayError) as caught:
            await fetch_json(client, "https://neon.com/models.json")
    assert caught.value.code == code
    assert words in caught.value.message


async def test_fetch_json_turns_a_transport_failure_into_a_gateway_error():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    async with transport(handler) as client:
        with pytest.raises(GatewayError) as caught:
            await fetch_json(client, "https://neon.com/models.json")
    assert caught.value.code == "network_error"
    # A real transport refuses other schemes before any connection is tried.
    async with gateway_client_module.make_client() as client:
        with pytest.raises(GatewayError) as caught:
            await fetch_json(client, "ftp://neon.com/models.json")
    assert caught.value.code == "invalid_url"


# ---- --branch ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gated_simulator():
    """A simulator listing one gated model and one the catalog does not know."""
    port = free_port()
    proc = start_daphne(
        "gateway.simulator:app", port, {"SIMULATOR_MODELS": "gpt-5-mini,!claude-opus-4-8,databricks-gpt-5,house-model"}
    )
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_a_branch_sync_records_the_listed_and_enabled_models(branch, gated_simulator, settings):
    settings.GATEWAY_ALLOWED_HOSTS = [gated_simulator.removeprefix("http://")]
    branch.base_url = gated_simulator
    branch.save()
    output = sync("--branch", str(branch.code))
    branch.refresh_from_db()
    assert branch.model_ids == ["gpt-5-mini", "claude-opus-4-8", "databricks-gpt-5", "house-model"]
    assert branch.models_enabled == {
        "gpt-5-mini": True,
        "claude-opus-4-8": False,
        "databricks-gpt-5": True,
        "house-model": True,
    }
    assert "4 models listed" in output
    assert "Not in the catalog (1): house-model" in output  # databricks-gpt-5 is gpt-5
    assert "Disabled, need a verified account (1): claude-opus-4-8" in output
    assert TOKEN not in output


def test_a_branch_sync_against_the_default_simulator_and_a_file_in_one_dry_run(tmp_path, branch):
    output = sync("--file", write(tmp_path, public_catalog()), "--branch", str(branch.code), "--dry-run")
    assert "Updated (0)" in output and "models listed" in output and "Dry run" in output
    branch.refresh_from_db()
    assert branch.model_ids == []


def test_a_branch_the_gateway_refuses_is_a_command_error_without_the_token(branch):
    secret = "nt_live_wrong_but_secret_value_123456"
    branch.set_token("not-a-neon-token-" + secret)
    branch.save()
    with pytest.raises(CommandError) as caught:
        sync("--branch", str(branch.code))
    assert "HTTP 401" in str(caught.value)
    assert secret not in str(caught.value)
    branch.refresh_from_db()
    assert branch.model_ids == []


def test_an_unknown_branch_code_is_a_command_error(db):
    with pytest.raises(CommandError, match="No branch with code"):
        sync("--branch", "not-a-uuid")
    with pytest.raises(CommandError, match="No branch with code"):
        sync("--branch", "6f1c1f0e-0000-4000-8000-000000000000")
    assert not Branch.objects.exists()
