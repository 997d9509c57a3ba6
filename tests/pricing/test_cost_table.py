"""Exact cost of one request, worked out by hand, for every dialect's usage shape.

Rates are the catalog's (gateway/catalog.json, USD per 1M tokens), read through
GatewayModel.price_snapshot() as a request row stores them. Each row's comment is the
arithmetic: tokens x rate / 1,000,000 per bucket.
"""

from decimal import Decimal

import pytest

from gateway import pricing
from gateway.models import GatewayModel

D = Decimal
CHAT = "chat_completions"
RESPONSES = "openai_responses"
ANTHROPIC = "anthropic_messages"

# (id, dialect, model, usage, buckets as (input, input_audio, cache_read, cache_write, output, reasoning), cost)
ROWS = [
    (
        "chat, plain",
        CHAT,
        "gpt-5-mini",  # 0.25 / 2
        {"prompt_tokens": 1000, "completion_tokens": 500},
        # 1000 x 0.25 = 250 -> 0.00025; 500 x 2 = 1000 -> 0.001
        (1000, 0, 0, 0, 500, 0),
        D("0.00125"),
    ),
    (
        "chat, cached tokens are inside prompt_tokens",
        CHAT,
        "gpt-5-mini",  # 0.25 / 2, cache read 0.025
        {"prompt_tokens": 10000, "completion_tokens": 2000, "prompt_tokens_details": {"cached_tokens": 8000}},
        # (10000 - 8000) x 0.25 = 500 -> 0.0005; 8000 x 0.025 = 200 -> 0.0002; 2000 x 2 = 4000 -> 0.004
        (2000, 0, 8000, 0, 2000, 0),
        D("0.0047"),
    ),
    (
        "chat, reasoning tokens are inside completion_tokens",
        CHAT,
        "gpt-5",  # 1.25 / 10
        {"prompt_tokens": 100, "completion_tokens": 1000, "completion_tokens_details": {"reasoning_tokens": 800}},
        # 100 x 1.25 = 125 -> 0.000125; 1000 x 10 = 10000 -> 0.01 (the 800 reasoning are not charged twice)
        (100, 0, 0, 0, 1000, 800),
        D("0.010125"),
    ),
    (
        "chat, cache read and cache write (Databricks shape)",
        CHAT,
        "claude-sonnet-4-5",  # 3 / 15, cache read 0.3, cache write 3.75
        {
            "prompt_tokens": 5000,
            "completion_tokens": 100,
            "prompt_tokens_details": {"cached_tokens": 1000, "cache_creation_tokens": 2000},
        },
        # (5000 - 1000 - 2000) x 3 = 6000 -> 0.006; 1000 x 0.3 = 300 -> 0.0003;
        # 2000 x 3.75 = 7500 -> 0.0075; 100 x 15 = 1500 -> 0.0015
        (2000, 0, 1000, 2000, 100, 0),
        D("0.0153"),
    ),
    (
        "chat, a prompt of exactly 200K stays below gemini-2-5-pro's tier",
        CHAT,
        "gemini-2-5-pro",  # 1.25 / 10; above 200,000: 2.5 / 15, cache 0.25
        {"prompt_tokens": 200000, "completion_tokens": 1000},
        # 200000 x 1.25 = 250000 -> 0.25; 1000 x 10 = 10000 -> 0.01
        (200000, 0, 0, 0, 1000, 0),
        D("0.26"),
    ),
    (
        "chat, gemini-2-5-pro above 200K uses the tier for every bucket",
        CHAT,
        "gemini-2-5-pro",
        {"prompt_tokens": 200001, "completion_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 100000}},
        # tier: 100001 x 2.5 = 250002.5 -> 0.2500025; 100000 x 0.25 = 25000 -> 0.025; 1000 x 15 = 15000 -> 0.015
        (100001, 0, 100000, 0, 1000, 0),
        D("0.2900025"),
    ),
    (
        "responses, gpt-5-4 above 272K with cache and reasoning",
        RESPONSES,
        "gpt-5-4",  # 2.5 / 15, cache 0.25; above 272,000: 5 / 22.5, cache 0.5
        {
            "input_tokens": 300000,
            "output_tokens": 10000,
            "input_tokens_details": {"cached_tokens": 200000},
            "output_tokens_details": {"reasoning_tokens": 4000},
        },
        # tier: (300000 - 200000) x 5 = 500000 -> 0.5; 200000 x 0.5 = 100000 -> 0.1; 10000 x 22.5 = 225000 -> 0.225
        (100000, 0, 200000, 0, 10000, 4000),
        D("0.825"),
    ),
    (
        "responses, gpt-5-4 at exactly 272K pays the base rates",
        RESPONSES,
        "gpt-5-4",
        {"input_tokens": 272000, "output_tokens": 1000},
        # 272000 x 2.5 = 680000 -> 0.68; 1000 x 15 = 15000 -> 0.015
        (272000, 0, 0, 0, 1000, 0),
        D("0.695"),
    ),
    (
        "responses, output only",
        RESPONSES,
        "gpt-5-mini",
        {"output_tokens": 100},
        # 100 x 2 = 200 -> 0.0002
        (0, 0, 0, 0, 100, 0),
        D("0.0002"),
    ),
    (
        "chat, gemini-2-5-flash audio input at its own rate",
        CHAT,
        "gemini-2-5-flash",  # 0.3 / 2.5, audio input 1.0
        {
            "prompt_tokens": 3000,
            "completion_tokens": 200,
            "prompt_tokens_details": {"audio_tokens": 2000, "cached_tokens": 0},
        },
        # (3000 - 2000) x 0.3 = 300 -> 0.0003; 2000 x 1.0 = 2000 -> 0.002; 200 x 2.5 = 500 -> 0.0005
        (1000, 2000, 0, 0, 200, 0),
        D("0.0028"),
    ),
    (
        "anthropic, input_tokens exclude cache reads and writes",
        ANTHROPIC,
        "claude-haiku-4-5",  # 1 / 5, cache read 0.1, cache write 1.25
        {
            "input_tokens": 50,
            "cache_read_input_tokens": 10000,
            "cache_creation_input_tokens": 2000,
            "output_tokens": 300,
        },
        # 50 x 1 = 50 -> 0.00005; 10000 x 0.1 = 1000 -> 0.001; 2000 x 1.25 = 2500 -> 0.0025; 300 x 5 = 1500 -> 0.0015
        (50, 0, 10000, 2000, 300, 0),
        D("0.00505"),
    ),
    (
        "anthropic, no cache fields",
        ANTHROPIC,
        "claude-sonnet-4-5",  # 3 / 15
        {"input_tokens": 1200, "output_tokens": 80},
        # 1200 x 3 = 3600 -> 0.0036; 80 x 15 = 1200 -> 0.0012
        (1200, 0, 0, 0, 80, 0),
        D("0.0048"),
    ),
    (
        "anthropic, null cache fields",
        ANTHROPIC,
        "claude-sonnet-4-5",
        {
            "input_tokens": 1200,
            "cache_read_input_tokens": None,
            "cache_creation_input_tokens": None,
            "output_tokens": 80,
        },
        # as above: 0.0036 + 0.0012
        (1200, 0, 0, 0, 80, 0),
        D("0.0048"),
    ),
    (
        "chat, null details",
        CHAT,
        "gpt-5-mini",
        {
            "prompt_tokens": 1000,
            "completion_tokens": 500,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        },
        # 1000 x 0.25 -> 0.00025; 500 x 2 -> 0.001
        (1000, 0, 0, 0, 500, 0),
        D("0.00125"),
    ),
    (
        "chat, no cache-read price falls back to the input rate",
        CHAT,
        "gpt-oss-120b",  # 0.072 / 0.28, no cache read price
        {"prompt_tokens": 1000, "completion_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 400}},
        # 600 x 0.072 = 43.2 -> 0.0000432; 400 x 0.072 = 28.8 -> 0.0000288; 1000 x 0.28 = 280 -> 0.00028
        (600, 0, 400, 0, 1000, 0),
        D("0.000352"),
    ),
    (
        "chat, more cached than prompt tokens is clamped to the prompt",
        CHAT,
        "gpt-5-mini",
        {"prompt_tokens": 100, "completion_tokens": 10, "prompt_tokens_details": {"cached_tokens": 500}},
        # cache read = min(500, 100) = 100: 100 x 0.025 = 2.5 -> 0.0000025; 10 x 2 = 20 -> 0.00002
        (0, 0, 100, 0, 10, 0),
        D("0.0000225"),
    ),
    (
        "chat, completion only",
        CHAT,
        "gpt-5",
        {"completion_tokens": 50},
        # 50 x 10 = 500 -> 0.0005
        (0, 0, 0, 0, 50, 0),
        D("0.0005"),
    ),
    (
        "chat, a negative count is read as 0",
        CHAT,
        "gpt-5-mini",
        {"prompt_tokens": -5, "completion_tokens": 10},
        # 10 x 2 = 20 -> 0.00002
        (0, 0, 0, 0, 10, 0),
        D("0.00002"),
    ),
    (
        "chat, NaN and Infinity (json.loads accepts them) are read as not sent",
        CHAT,
        "gpt-5-mini",
        {
            "prompt_tokens": float("nan"),
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": float("inf")},
        },
        # 10 x 2 = 20 -> 0.00002
        (0, 0, 0, 0, 10, 0),
        D("0.00002"),
    ),
]

# Usage objects that carry no token counts: no buckets, no cost (never a silent 0).
EMPTY = [
    ("none", CHAT, None),
    ("empty dict", CHAT, {}),
    ("all null, chat", CHAT, {"prompt_tokens": None, "completion_tokens": None, "total_tokens": None}),
    ("all null, responses", RESPONSES, {"input_tokens": None, "output_tokens": None}),
    ("all null, anthropic", ANTHROPIC, {"input_tokens": None, "output_tokens": None}),
    ("details only", CHAT, {"prompt_tokens_details": {"cached_tokens": 10}}),
    ("strings are not counts", CHAT, {"prompt_tokens": "100", "completion_tokens": "5"}),
]


@pytest.fixture
def snapshots(catalog):
    return {m.id: m.price_snapshot() for m in GatewayModel.objects.all()}


@pytest.mark.parametrize(
    ("dialect", "model", "usage", "expected_buckets", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in ROWS],
)
def test_the_cost_matches_the_hand_worked_figure(snapshots, dialect, model, usage, expected_buckets, expected):
    b = pricing.buckets(usage, dialect)
    assert (b.input, b.input_audio, b.cache_read, b.cache_write, b.output, b.reasoning) == expected_buckets
    total, lines = pricing.cost(b, snapshots[model])
    assert total == expected
    # The lines add up to the total and name only the buckets that have tokens.
    assert sum(D(line["cost"]) for line in lines) == total
    assert {line["bucket"] for line in lines} == {name for name, count in b.as_dict().items() if count}


@pytest.mark.parametrize(("dialect", "usage"), [pytest.param(*row[1:], id=row[0]) for row in EMPTY])
def test_a_usage_without_counts_has_no_buckets_and_no_cost(snapshots, dialect, usage):
    assert pricing.buckets(usage, dialect) is None
    assert pricing.cost(pricing.buckets(usage, dialect), snapshots["gpt-5-mini"]) == (None, [])


@pytest.mark.parametrize(
    ("dialect", "usage", "expected"),
    [
        pytest.param(
            CHAT,
            {
                "prompt_tokens": 5000,
                "completion_tokens": 100,
                "prompt_tokens_details": {"cached_tokens": 1000, "cache_creation_tokens": 2000},
                "completion_tokens_details": {"reasoning_tokens": 60},
            },
            pricing.Tokens(5000, 100, 1000, 2000, 60),
            id="chat",
        ),
        pytest.param(
            RESPONSES,
            {
                "input_tokens": 300,
                "output_tokens": 20,
                "input_tokens_details": {"cached_tokens": 100},
                "output_tokens_details": {"reasoning_tokens": 5},
            },
            pricing.Tokens(300, 20, 100, None, 5),
            id="responses",
        ),
        pytest.param(
            # The log keeps OpenAI's meaning: prompt includes the cache (50 + 10000 + 2000).
            ANTHROPIC,
            {
                "input_tokens": 50,
                "cache_read_input_tokens": 10000,
                "cache_creation_input_tokens": 2000,
                "output_tokens": 3,
            },
            pricing.Tokens(12050, 3, 10000, 2000, None),
            id="anthropic",
        ),
        pytest.param(CHAT, {"prompt_tokens": 7}, pricing.Tokens(7, None, None, None, None), id="chat, prompt only"),
        pytest.param(CHAT, None, pricing.Tokens(None, None, None, None, None), id="no usage"),
    ],
)
def test_the_logged_token_counts_keep_what_the_gateway_reported(dialect, usage, expected):
    assert pricing.tokens(usage, dialect) == expected


def test_the_tier_is_named_on_each_line_priced_at_it(snapshots):
    usage = {"input_tokens": 300000, "output_tokens": 10, "input_tokens_details": {"cached_tokens": 200000}}
    _total, lines = pricing.cost(pricing.buckets(usage, RESPONSES), snapshots["gpt-5-4"])
    assert {line["tier"] for line in lines} == {">272,000 tokens"}
    assert {line["bucket"]: line["rate"] for line in lines} == {"input": "5", "cache_read": "0.5", "output": "22.5"}


def test_a_model_without_a_published_price_has_no_cost_rather_than_zero(snapshots):
    assert snapshots["inkling"]["input"] is None
    b = pricing.buckets({"prompt_tokens": 10, "completion_tokens": 10}, CHAT)
    assert pricing.cost(b, snapshots["inkling"]) == (None, [])


def test_a_missing_output_rate_makes_the_cost_unknown_not_partial():
    price = {"input": "1", "output": None}
    b = pricing.Buckets(input=1000, output=10)
    assert pricing.cost(b, price) == (None, [])
    # No output tokens: the input alone is priced (1000 x 1 -> 0.001).
    assert pricing.cost(pricing.Buckets(input=1000), price)[0] == D("0.001")
