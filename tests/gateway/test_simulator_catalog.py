"""The simulator's models are catalog.json's: the list, what each takes in and puts out, and
the dialects it is served on (in process, through httpx.ASGITransport)."""

import json
from pathlib import Path

import httpx
import pytest

from gateway import simulator as sim
from tests.conftest import TOKEN

CATALOG = json.loads((Path(__file__).resolve().parents[2] / "gateway" / "catalog.json").read_text())
ENTRIES = CATALOG["models"]
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IMAGE = "data:image/png;base64,iVBORw0KGgo="
# A valid request of each dialect the simulator serves, by its path.
REQUESTS = {
    "chat_completions": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hello"}]}),
    "openai_responses": ("/v1/responses", {"input": "hello"}),
    "anthropic_messages": (
        "/anthropic/v1/messages",
        {"max_tokens": 64, "messages": [{"role": "user", "content": "hello"}]},
    ),
}


def client_of(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


async def listing(**config):
    async with client_of(sim.create_app(ttft_ms=0, interval_ms=0, chunks=2, **config)) as client:
        response = await client.get("/v1/models", headers=AUTH)
    assert response.status_code == 200
    return {item["id"]: item for item in response.json()["data"]}


def test_the_default_list_is_the_catalog_in_its_order():
    assert tuple(entry["id"] for entry in ENTRIES) == sim.DEFAULT_MODELS


async def test_every_catalog_model_is_listed_with_the_catalog_modalities():
    by_id = await listing()

    assert set(by_id) == {entry["id"] for entry in ENTRIES}
    for entry in ENTRIES:
        architecture = by_id[entry["id"]]["architecture"]
        inputs, outputs = entry["input_modalities"], entry["output_modalities"]
        assert (architecture["input_modalities"], architecture["output_modalities"]) == (inputs, outputs), entry["id"]
        assert architecture["modality"] == "+".join(inputs) + "->" + "+".join(outputs)
        assert isinstance(architecture["tokenizer"], str)
        assert by_id[entry["id"]]["owned_by"] == entry["provider"]
    assert by_id["gpt-5"]["architecture"]["output_modalities"] == ["text"]  # the prefix guess said text+image


async def test_a_prefixed_id_is_listed_with_its_catalog_entry():
    by_id = await listing(models=["databricks-gpt-5-4"])

    assert by_id["databricks-gpt-5-4"]["architecture"]["input_modalities"] == ["text", "image", "pdf"]


async def test_a_model_the_catalog_lacks_is_text_in_and_text_out():
    app = sim.create_app(ttft_ms=0, interval_ms=0, chunks=2, models=["gemini-9-ultra", "house-model"])
    async with client_of(app) as client:
        by_id = {item["id"]: item for item in (await client.get("/v1/models", headers=AUTH)).json()["data"]}
        content = [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": IMAGE}}]
        body = {"model": "gemini-9-ultra", "messages": [{"role": "user", "content": content}]}
        response = await client.post("/v1/chat/completions", json=body, headers=AUTH)

    for model_id in ("gemini-9-ultra", "house-model"):
        architecture = by_id[model_id]["architecture"]
        assert (architecture["input_modalities"], architecture["output_modalities"]) == (["text"], ["text"])
    # No modalities from the id: an unknown gemini-* model is not taken to accept images.
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "this model does not support image input"


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry["id"] for entry in ENTRIES])
async def test_each_model_is_served_on_the_catalog_dialects_only(entry):
    app = sim.create_app(ttft_ms=0, interval_ms=0, chunks=2)
    async with client_of(app) as client:
        for dialect, (path, body) in REQUESTS.items():
            response = await client.post(path, json={"model": entry["id"], **body}, headers=AUTH)
            if dialect in entry["endpoints"]:
                assert response.status_code == 200, (dialect, response.text)
            else:
                assert response.status_code == 400, dialect
                message = f'model "{entry["id"]}" is not available on the {dialect} endpoint'
                assert response.json()["error"]["message"] == message
