"""What a model accepts is catalog data read through gateway.quirks: the product and the simulator agree."""

import json

import pytest

from gateway import quirks
from gateway.models import GatewayModel
from gateway.simulator import chat, responses
from playground.compare.runs import plan_model

pytestmark = [pytest.mark.django_db]

EVERY_PARAM = {
    "temperature": 0.5,
    "top_p": 0.9,
    "max_tokens": 64,
    "seed": 7,
    "presence_penalty": 0.1,
    "frequency_penalty": 0.1,
    "reasoning_effort": "low",
}
MESSAGES = [{"role": "user", "content": "hello"}]


def test_a_prefixed_id_finds_the_catalog_entry():
    assert quirks.lookup("databricks-gemini-3-pro").stream_options is False
    assert quirks.lookup("neon/gemini-3-pro") == quirks.lookup("gemini-3-pro")
    assert quirks.lookup("claude-opus-4-7").temperature is False
    assert quirks.lookup("claude-sonnet-4-6").single_sampling_param is True


def test_a_model_the_catalog_lacks_gets_its_quirks_from_its_id():
    unknown = quirks.lookup("gemini-9-ultra")
    assert unknown.provider == "google"
    assert unknown.stream_options is False
    assert "chat_completions" in unknown.endpoints
    assert quirks.lookup("house-model") == quirks.ModelQuirks()


def test_refused_names_the_sampling_parameters_of_a_model_without_temperature():
    gpt = quirks.lookup("gpt-5-mini")
    assert gpt.refused(["temperature", "top_p", "max_tokens"]) == ["temperature", "top_p"]
    assert quirks.lookup("gpt-oss-20b").refused(["seed", "stop", "temperature"]) == ["seed", "stop"]


def test_the_migration_copies_the_catalog_file_onto_the_rows():
    rows = {row.id: quirks.ModelQuirks.of(row) for row in GatewayModel.objects.all()}
    assert rows
    for model_id, row in rows.items():
        assert row == quirks.lookup(model_id), model_id


def test_the_simulator_accepts_what_the_product_sends_to_every_model():
    chat_models = GatewayModel.objects.chat()
    assert chat_models.count() > 40
    for model in chat_models:
        plan = plan_model(model, model.id, EVERY_PARAM)
        if plan.endpoint == "chat_completions":
            body = {"model": model.id, "messages": MESSAGES, **plan.params}
            if plan.include_usage:
                body["stream_options"] = {"include_usage": True}
            assert chat.reject(model.id, body, MESSAGES) is None, (model.id, plan.params)
        elif plan.endpoint == "openai_responses":
            body = {"model": model.id, "input": MESSAGES, **plan.params}
            assert responses.reject(model.id, body, MESSAGES) is None, (model.id, plan.params)


def test_the_simulator_refuses_what_the_catalog_says_a_model_refuses():
    for model_id, param in (("gpt-5-mini", "temperature"), ("gpt-oss-20b", "stop"), ("claude-haiku-4-5", "seed")):
        body = {"model": model_id, "messages": MESSAGES, param: 1}
        refusal = chat.reject(model_id, body, MESSAGES)
        assert refusal is not None and param in json.loads(refusal)["message"], model_id
