"""Structured output: a JSON schema refused before the run when invalid, answers checked after."""

import pytest

from playground.compare.schemas import check_output
from tests.compare.test_consumer import connect, receive_until, run_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "year": {"type": "integer"}},
    "required": ["name", "year"],
}


async def test_answers_are_checked_against_the_schema_in_every_dialect(alice, branch):
    comm, _ = await connect(alice)
    frame = run_frame(branch, ["gpt-5-mini", "gpt-5-2-codex", "claude-haiku-4-5"], max_tokens=64, thinking_budget=1024)
    frame["response_schema"] = SCHEMA
    await comm.send_json_to(frame)
    frames = await receive_until(comm, lambda f: f["type"] in ("run.done", "error"))
    assert frames[-1]["type"] == "run.done", frames[-1]
    models = {c["id"]: c["model"] for c in frames[0]["completions"]}
    checks = {models[f["completion"]]: f["schema"] for f in frames if f["type"] == "completion.done"}
    # The simulator answers with JSON that fits the schema when one is sent (chat, Responses).
    assert checks["gpt-5-mini"] == {"valid": True, "error": None}
    assert checks["gpt-5-2-codex"] == {"valid": True, "error": None}
    # Anthropic Messages has no response format: not sent, and the prose answer does not fit.
    assert checks["claude-haiku-4-5"]["valid"] is False
    assert checks["claude-haiku-4-5"]["error"].startswith("The answer is not JSON")
    notes = {c["model"]: c["notes"] for c in frames[0]["completions"]}
    assert any(n.startswith("JSON schema not sent") for n in notes["claude-haiku-4-5"])
    await comm.disconnect()


@pytest.mark.parametrize(
    "schema, message",
    [
        (
            {"type": "object", "properties": {"year": {"type": "integr"}}},
            "The JSON schema is not valid at $.properties.year.type:",
        ),
        (  # Python's json reads Infinity; no request body can carry it
            {"type": "object", "properties": {"year": {"type": "integer", "maximum": float("inf")}}},
            "The JSON schema has a number JSON cannot carry (NaN or Infinity) at $.properties.year.maximum.",
        ),
    ],
)
async def test_an_invalid_schema_is_refused_before_the_run_saying_where(alice, branch, schema, message):
    comm, _ = await connect(alice)
    frame = run_frame(branch, ["gpt-5-mini"])
    frame["response_schema"] = schema
    await comm.send_json_to(frame)
    error = await comm.receive_json_from(timeout=5)
    assert error["type"] == "error"
    assert error["message"].startswith(message), error["message"]
    await comm.disconnect()


def test_check_output_says_where_an_answer_does_not_fit():
    assert check_output(SCHEMA, '{"name": "Neon", "year": "2021"}') == {
        "valid": False,
        "error": "At $.year: '2021' is not of type 'integer'",
    }
    assert check_output(SCHEMA, '{"name": "Neon", "year": 2021}')["valid"] is True
