"""Get code: the snippets run against the simulator on loopback and never hold the token."""

import json
import os
import subprocess
import sys

import pytest
from django.urls import reverse

from playground.compare.snippets import snippets
from tests.conftest import TOKEN

pytestmark = pytest.mark.django_db

MODELS = ["gpt-5-mini", "gpt-5-2-codex", "claude-haiku-4-5"]
MESSAGES = [
    {"role": "system", "content": "You are terse. Quote 'this' and \"that\" and $HOME literally."},
    {"role": "user", "content": "Say hello\nin two lines. JSON"},
]
# Extended thinking sends Claude through Anthropic Messages; codex only speaks Responses.
PARAMS = {"max_tokens": 64, "thinking_budget": 1024}


def run(args, simulator, tmp_path):
    env = {
        **os.environ,
        "NEON_AI_GATEWAY_BASE_URL": simulator + "/",
        "NEON_AI_GATEWAY_TOKEN": TOKEN,
    }
    return subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def sections(output):
    """{model: text printed under its === model === header}."""
    found, current = {}, None
    for line in output.splitlines():
        if line.startswith("=== ") and line.endswith(" ==="):
            current = line[4:-4]
            found[current] = ""
        elif current is not None:
            found[current] += line
    return found


def test_the_python_snippet_runs_every_model_on_its_endpoint(catalog, simulator, tmp_path):
    code = snippets(MODELS, MESSAGES, PARAMS)["python"]
    assert "chat.chat.completions.create" in code
    assert "responses.responses.create" in code
    assert "/ai-gateway/anthropic/v1/messages" in code
    path = tmp_path / "compare.py"
    path.write_text(code)
    result = run([sys.executable, str(path)], simulator, tmp_path)
    assert result.returncode == 0, result.stderr
    printed = sections(result.stdout)
    assert list(printed) == MODELS
    for model, text in printed.items():
        assert len(text.split()) >= 3, (model, text)


def test_the_curl_snippet_streams_every_model(catalog, simulator, tmp_path):
    code = snippets(MODELS, MESSAGES, PARAMS)["curl"]
    path = tmp_path / "compare.sh"
    path.write_text(code)
    result = run(["bash", "-e", str(path)], simulator, tmp_path)
    assert result.returncode == 0, result.stderr
    printed = sections(result.stdout)
    assert list(printed) == MODELS
    # Each dialect's own stream: chat chunks, Responses events, Anthropic events.
    assert '"chat.completion.chunk"' in printed["gpt-5-mini"]
    assert printed["gpt-5-mini"].endswith("data: [DONE]")
    assert "response.output_text.delta" in printed["gpt-5-2-codex"]
    assert "event: response.completed" in printed["gpt-5-2-codex"]
    assert "thinking_delta" in printed["claude-haiku-4-5"]
    assert "event: message_stop" in printed["claude-haiku-4-5"]


def test_the_curl_snippet_fails_on_an_http_error(catalog, simulator, tmp_path):
    messages = [{"role": "user", "content": "hello sim:fault=429"}]
    path = tmp_path / "compare.sh"
    path.write_text(snippets(["gpt-5-mini"], messages, {})["curl"])
    result = run(["bash", "-e", str(path)], simulator, tmp_path)
    assert result.returncode != 0
    assert "429" in result.stderr


def test_snippets_read_the_token_from_the_environment_and_never_hold_it(catalog):
    for language, code in snippets(MODELS, MESSAGES, PARAMS).items():
        assert "NEON_AI_GATEWAY_TOKEN" in code, language
        assert "NEON_AI_GATEWAY_BASE_URL" in code, language
        assert "nt_live_" not in code, language


def test_the_mastra_snippet_leaves_out_models_its_router_cannot_reach(catalog):
    code = snippets(MODELS, MESSAGES, PARAMS)["mastra"]
    assert 'model: "neon/gpt-5-mini"' in code
    assert "gpt-5-2-codex is left out: it needs OpenAI Responses" in code
    assert "claude-haiku-4-5 is left out: it needs Anthropic Messages" in code


def test_the_typescript_snippet_uses_each_endpoint(catalog):
    code = snippets(MODELS, MESSAGES, PARAMS)["typescript"]
    assert "chat.chat.completions.create({" in code
    assert "responses.responses.create({" in code
    assert "await anthropicMessages({" in code
    assert "process.env.NEON_AI_GATEWAY_TOKEN" in code


def test_the_view_returns_snippets_and_each_models_endpoint(client, alice, catalog):
    client.force_login(alice)
    frame = {"type": "run", "models": MODELS, "messages": MESSAGES, "params": PARAMS}
    response = client.post(reverse("compare:code"), json.dumps(frame), content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert set(body["snippets"]) == {"python", "typescript", "curl", "mastra"}
    assert [(c["model"], c["endpoint"]) for c in body["calls"]] == [
        ("gpt-5-mini", "chat_completions"),
        ("gpt-5-2-codex", "openai_responses"),
        ("claude-haiku-4-5", "anthropic_messages"),
    ]


def test_the_view_refuses_a_bad_comparison_with_a_message(client, alice, catalog):
    client.force_login(alice)
    frame = {"models": [], "messages": MESSAGES}
    response = client.post(reverse("compare:code"), json.dumps(frame), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "Choose at least one model."
    response = client.post(reverse("compare:code"), "not json", content_type="application/json")
    assert response.status_code == 400


def test_the_view_needs_a_login(client, catalog):
    frame = {"models": MODELS, "messages": MESSAGES}
    response = client.post(reverse("compare:code"), json.dumps(frame), content_type="application/json")
    assert response.status_code == 302


TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]


def test_the_python_snippet_offers_the_tools_and_prints_each_call(catalog, simulator, tmp_path):
    code = snippets(MODELS, MESSAGES, {**PARAMS, "tools": TOOLS})["python"]
    path = tmp_path / "compare.py"
    path.write_text(code)
    result = run([sys.executable, str(path)], simulator, tmp_path)
    assert result.returncode == 0, result.stderr
    printed = sections(result.stdout)
    assert list(printed) == MODELS
    # The simulator calls the first tool in every dialect; each snippet prints the call as it streams.
    for model, text in printed.items():
        assert text == '[tool call get_weather] {"city": "example"}', (model, text)


def test_the_curl_snippet_sends_the_tools_in_each_dialects_shape(catalog, simulator, tmp_path):
    code = snippets(MODELS, MESSAGES, {**PARAMS, "tools": TOOLS})["curl"]
    path = tmp_path / "compare.sh"
    path.write_text(code)
    result = run(["bash", "-e", str(path)], simulator, tmp_path)
    assert result.returncode == 0, result.stderr
    printed = sections(result.stdout)
    assert '"tool_calls"' in printed["gpt-5-mini"] and '"finish_reason":"tool_calls"' in printed["gpt-5-mini"]
    assert "response.function_call_arguments.delta" in printed["gpt-5-2-codex"]
    assert "input_json_delta" in printed["claude-haiku-4-5"]


def test_the_mastra_and_typescript_snippets_carry_the_tools(catalog):
    code = snippets(["gpt-5-mini", "claude-haiku-4-5"], MESSAGES, {**PARAMS, "tools": TOOLS})
    assert 'import { jsonSchema, tool } from "ai";' in code["mastra"]
    assert '"get_weather": tool({ description: "The weather in a city", inputSchema: jsonSchema({' in code["mastra"]
    assert 'model: "neon/gpt-5-mini", tools }' in code["mastra"]
    assert '"input_schema": {' in code["typescript"]
    assert "input_json_delta" in code["typescript"]
