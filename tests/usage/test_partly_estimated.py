"""A stopped or cut Anthropic stream: its input is exact (message_start), its output estimated."""

from decimal import Decimal

import pytest

from gateway import pricing
from playground.compare.models import Completion, cost_of
from tests.compare.test_consumer import connect, receive_until, run_frame

PRICE = {"input": "3", "output": "15", "cache_read": "0.3", "cache_write": "3.75"}
START = {"input_tokens": 1000, "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "output_tokens": 1}


def test_input_is_exact_and_output_is_estimated():
    output = "word " * 40
    tokens, cost, source, _ = cost_of(START, "anthropic_messages", PRICE, "the prompt", output, partial=True)
    estimated = pricing.estimate_tokens(output)
    assert source == Completion.CostSource.PARTLY_ESTIMATED
    assert (tokens.prompt, tokens.completion) == (1000, estimated)
    assert cost == (Decimal(1000) * 3 + Decimal(estimated) * 15) / Decimal(1_000_000)


def test_the_full_usage_is_computed_as_before():
    _, _, source, _ = cost_of({**START, "output_tokens": 30}, "anthropic_messages", PRICE, "p", "o", partial=False)
    assert source == Completion.CostSource.COMPUTED


@pytest.mark.django_db(transaction=True)
async def test_a_cut_claude_stream_is_logged_partly_estimated(alice, branch):
    comm, _ = await connect(alice)
    await comm.send_json_to(
        run_frame(branch, ["claude-sonnet-4-6"], "Think sim:fault=cut", max_tokens=256, thinking_budget=1024)
    )
    await receive_until(comm, lambda f: f["type"] == "run.done")
    await comm.disconnect()
    row = await Completion.objects.aget()
    assert row.endpoint == "anthropic_messages"
    assert row.cost_source == Completion.CostSource.PARTLY_ESTIMATED
    assert row.prompt_tokens == pricing.tokens(row.usage_raw, "anthropic_messages").prompt
    assert row.cost is not None and row.cost > 0


@pytest.mark.django_db
def test_the_usage_log_marks_it_with_a_tilde(client, alice, finish):
    finish(cost=Decimal("0.25"), cost_source=Completion.CostSource.PARTLY_ESTIMATED)
    client.force_login(alice)
    html = client.get("/usage/").content.decode()
    assert "~$0.25" in html
