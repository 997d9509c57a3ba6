"""gateway/catalog.json: every model the seeds and the spec name, with the snapshot's exact figures."""

import json
from decimal import Decimal

import pytest

from gateway.catalog import CATALOG_PATH, load_catalog, normalize_model_id

# The 25 models of the models.dev snapshot (Mastra's page, docs/gateway.md).
SNAPSHOT_IDS = {
    "claude-haiku-4-5",
    "claude-opus-4-1",
    "claude-opus-4-5",
    "claude-opus-4-6",
    "claude-opus-4-7",
    "claude-sonnet-4-5",
    "claude-sonnet-4-6",
    "claude-sonnet-4",
    "gemini-2-5-flash",
    "gemini-2-5-pro",
    "gemini-3-1-flash-lite",
    "gemini-3-1-pro",
    "gemini-3-flash",
    "gemini-3-pro",
    "gpt-5-1",
    "gpt-5-2",
    "gpt-5-4-mini",
    "gpt-5-4-nano",
    "gpt-5-4",
    "gpt-5-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "gpt-5",
    "gpt-oss-120b",
    "gpt-oss-20b",
}
# "Models added later" (docs/gateway.md, "The model catalog and prices"): the Neon models page and embeddings.
LATER_IDS = {
    "gpt-5-3-codex",
    "gpt-5-2-codex",
    "gpt-5-1-codex-max",
    "gpt-5-1-codex-mini",
    "gpt-5-5-pro",
    "gpt-5-6-luna",
    "gpt-5-6-sol",
    "gpt-5-6-terra",
    "claude-opus-4-8",
    "claude-opus-5",
    "claude-sonnet-5",
    "claude-fable-5",
    "gemini-3-5-flash",
    "gemini-3-5-flash-lite",
    "gemini-3-6-flash",
    "gemma-3-12b",
    "llama-4-maverick",
    "meta-llama-3-3-70b-instruct",
    "meta-llama-3-1-8b-instruct",
    "qwen35-122b-a10b",
    "qwen3-next-80b-a3b-instruct",
    "glm-5-2",
    "inkling",
    "kimi-k3",
    "qwen3-embedding-0-6b",
    "gte-large-en",
}
RESPONSES_ONLY = {"gpt-5-3-codex", "gpt-5-2-codex", "gpt-5-1-codex-max", "gpt-5-1-codex-mini", "gpt-5-5-pro"}


@pytest.fixture(scope="module")
def catalog():
    return {entry["id"]: entry for entry in load_catalog()}


def test_it_holds_every_model_named_in_the_seeds_and_the_spec(catalog):
    assert set(catalog) == SNAPSHOT_IDS | LATER_IDS
    assert len(catalog) == 51


def test_the_file_has_a_version_a_date_and_a_model_list():
    document = json.loads(CATALOG_PATH.read_text())
    assert set(document) == {"version", "generated", "models"}
    assert isinstance(document["version"], int)


def test_it_has_the_exact_snapshot_prices(catalog):
    assert catalog["gpt-5-4"]["price"]["input"] == Decimal("2.5")
    assert catalog["gemini-2-5-flash"]["price"]["output"] == Decimal("2.5")
    assert catalog["gpt-5-4-mini"]["price"]["output"] == Decimal("4.5")
    assert catalog["gpt-oss-120b"]["price"]["input"] == Decimal("0.072")
    assert catalog["claude-opus-4-1"]["price"]["cache_write"] == Decimal("18.75")
    assert catalog["gemini-2-5-flash"]["price"]["input_audio"] == Decimal("1")
    assert catalog["gpt-5-4"]["price"]["source"] == "models.dev snapshot f3fc692"


def test_it_has_the_snapshot_context_tiers(catalog):
    assert catalog["gpt-5-4"]["price"]["tiers"] == [
        {"tier": {"type": "context", "size": 272000}, "input": 5, "output": 22.5, "cache_read": 0.5}
    ]
    assert catalog["gemini-2-5-pro"]["price"]["tiers"] == [
        {"tier": {"type": "context", "size": 200000}, "input": 2.5, "output": 15, "cache_read": 0.25}
    ]
    assert catalog["gpt-5-5"]["price"]["tiers"][0]["input"] == 10


def test_it_has_the_snapshot_limits_and_flags(catalog):
    assert catalog["gemini-2-5-flash"]["context_window"] == 1048576
    assert catalog["gpt-5-4"]["context_window"] == 1050000
    assert catalog["gpt-oss-20b"]["max_output"] == 32768
    assert catalog["claude-opus-4-7"]["temperature"] is False
    assert catalog["gpt-oss-120b"]["open_weights"] is True
    assert catalog["gemini-3-pro"]["input_modalities"] == ["text", "image", "audio", "video", "pdf"]


def test_the_prices_stated_in_the_spec_are_there(catalog):
    def rates(model_id):
        price = catalog[model_id]["price"]
        return price["input"], price["output"]

    assert rates("gpt-5-5-pro") == (Decimal(30), Decimal(180))
    assert rates("claude-sonnet-5") == (Decimal(2), Decimal(10))
    assert rates("claude-fable-5") == (Decimal(10), Decimal(50))
    assert rates("gemini-3-5-flash") == (Decimal("1.5"), Decimal(9))
    assert rates("llama-4-maverick") == (Decimal("0.5"), Decimal("1.5"))
    assert catalog["llama-4-maverick"]["max_output"] == 8192
    assert rates("qwen3-embedding-0-6b") == (Decimal("0.02"), None)
    assert rates("gte-large-en") == (Decimal("0.13"), None)


def test_unknown_prices_are_null_never_zero(catalog):
    for model_id in ("inkling", "kimi-k3", "claude-opus-5", "glm-5-2", "gemma-3-12b"):
        price = catalog[model_id]["price"]
        assert [price[key] for key in ("input", "output", "cache_read", "cache_write")] == [None] * 4
    raw = json.loads(CATALOG_PATH.read_text())
    for entry in raw["models"]:
        for key in ("input", "output", "cache_read", "cache_write", "input_audio"):
            assert entry["price"][key] != 0, (entry["id"], key)


def test_endpoints_follow_the_dialect_rules(catalog):
    for model_id, entry in catalog.items():
        endpoints = entry["endpoints"]
        if entry["kind"] == "embedding":
            assert endpoints == ["embeddings"]
            continue
        assert ("chat_completions" in endpoints) == (model_id not in RESPONSES_ONLY), model_id
        is_gpt = model_id.startswith("gpt-") and not model_id.startswith("gpt-oss")
        assert ("openai_responses" in endpoints) == is_gpt, model_id
        assert ("anthropic_messages" in endpoints) == model_id.startswith("claude"), model_id
        assert ("gemini" in endpoints) == model_id.startswith("gemini"), model_id
    assert catalog["gpt-5-5-pro"]["endpoints"] == ["openai_responses"]
    assert catalog["gemma-3-12b"]["endpoints"] == ["chat_completions"]


def test_embeddings_are_marked_as_such(catalog):
    kinds = {model_id for model_id, entry in catalog.items() if entry["kind"] == "embedding"}
    assert kinds == {"qwen3-embedding-0-6b", "gte-large-en"}


@pytest.mark.parametrize(
    ("raw", "short"),
    [
        ("databricks-claude-sonnet-4-6", "claude-sonnet-4-6"),
        ("neon/gpt-5-mini", "gpt-5-mini"),
        ("neon/databricks-gpt-oss-20b", "gpt-oss-20b"),
        ("  gemini-2-5-flash ", "gemini-2-5-flash"),
        ("gpt-5", "gpt-5"),
    ],
)
def test_normalize_model_id_strips_the_known_prefixes(raw, short):
    assert normalize_model_id(raw) == short


def write(tmp_path, models):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"version": 1, "generated": "2026-11-22", "models": models}))
    return path


def entry(**overrides):
    base = {
        "id": "demo-model",
        "name": "Demo",
        "provider": "openai",
        "kind": "chat",
        "input_modalities": ["text"],
        "output_modalities": ["text"],
        "endpoints": ["chat_completions"],
        "price": {"input": 1, "output": 2, "source": "test", "effective": "2026-07-02"},
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"price": {"input": 0, "output": 2}}, "price.input"),
        ({"price": {"input": "cheap"}}, "price.input"),
        ({"context_window": "1M"}, "context_window"),
        ({"endpoints": ["websocket"]}, "endpoints"),
        ({"kind": "image"}, "kind"),
        ({"tools": "yes"}, "tools"),
        ({"release_date": "July"}, "release_date"),
        ({"id": "databricks-demo-model"}, "id"),
        ({"input_modalities": []}, "input_modalities"),
        ({"price": {"tiers": [{"tier": {"type": "context"}, "input": 2}]}}, "price.tiers[0]"),
    ],
)
def test_load_catalog_names_the_model_and_field_of_a_bad_entry(tmp_path, overrides, field):
    path = write(tmp_path, [entry(), entry(**{"id": "bad-model", **overrides})])
    with pytest.raises(ValueError) as excinfo:
        load_catalog(path)
    message = str(excinfo.value)
    assert field in message
    assert repr(overrides.get("id", "bad-model")) in message


def test_load_catalog_refuses_a_duplicate_id(tmp_path):
    with pytest.raises(ValueError, match="'demo-model'.*duplicated"):
        load_catalog(write(tmp_path, [entry(), entry()]))


def test_load_catalog_refuses_a_file_that_is_not_a_catalog(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text("[1, 2")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_catalog(path)
    path.write_text("[]")
    with pytest.raises(ValueError, match="models"):
        load_catalog(path)
