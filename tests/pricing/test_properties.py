"""Properties of the cost arithmetic for any usage object a gateway might send, sane or not."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gateway import pricing
from gateway.catalog import load_catalog
from playground.compare.models import Completion, cost_of

DIALECTS = ("chat_completions", "openai_responses", "anthropic_messages")


def _snapshot(entry):
    """A catalog entry's price in the shape a request row stores (GatewayModel.price_snapshot())."""
    price = entry["price"]
    snapshot = {key: None if price[key] is None else str(price[key]) for key in ("input", "output", "cache_read")}
    snapshot |= {key: None if price[key] is None else str(price[key]) for key in ("cache_write", "input_audio")}
    return snapshot | {"tiers": price["tiers"], "source": price["source"], "effective": None}


# Read from the file, not the database: hypothesis runs many examples per test.
PRICED = [_snapshot(e) for e in load_catalog() if e["price"]["input"] is not None and e["price"]["output"] is not None]
prices = st.sampled_from(PRICED)

# Anything JSON (or json.loads' NaN and Infinity) can put where a count belongs.
counts = st.one_of(
    st.none(),
    st.integers(min_value=-1000, max_value=2_000_000),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=4),
)


def details(*names):
    return st.one_of(
        st.none(),
        st.text(max_size=3),
        st.lists(counts, max_size=2),
        st.fixed_dictionaries({}, optional=dict.fromkeys(names, counts)),
    )


USAGE = {
    "chat_completions": st.fixed_dictionaries(
        {},
        optional={
            "prompt_tokens": counts,
            "completion_tokens": counts,
            "total_tokens": counts,
            "prompt_tokens_details": details("cached_tokens", "cache_creation_tokens", "audio_tokens"),
            "completion_tokens_details": details("reasoning_tokens"),
        },
    ),
    "openai_responses": st.fixed_dictionaries(
        {},
        optional={
            "input_tokens": counts,
            "output_tokens": counts,
            "input_tokens_details": details("cached_tokens", "audio_tokens"),
            "output_tokens_details": details("reasoning_tokens"),
        },
    ),
    "anthropic_messages": st.fixed_dictionaries(
        {},
        optional={
            "input_tokens": counts,
            "output_tokens": counts,
            "cache_read_input_tokens": counts,
            "cache_creation_input_tokens": counts,
        },
    ),
}
usages = st.one_of([st.tuples(st.just(dialect), USAGE[dialect]) for dialect in DIALECTS])


@given(usages)
def test_no_bucket_is_negative_and_the_buckets_never_exceed_the_reported_tokens(dialect_usage):
    dialect, usage = dialect_usage
    t = pricing.tokens(usage, dialect)
    b = pricing.buckets(usage, dialect)
    if b is None:
        assert t.prompt is None and t.completion is None
        return
    counts = b.as_dict()
    assert all(count >= 0 for count in counts.values())
    assert sum(counts.values()) <= (t.prompt or 0) + (t.completion or 0)
    assert 0 <= b.reasoning <= b.output


@given(usages, prices)
def test_a_cost_is_never_negative(dialect_usage, price):
    dialect, usage = dialect_usage
    total, lines = pricing.cost(pricing.buckets(usage, dialect), price)
    if total is not None:
        assert total >= 0
        assert all(Decimal(line["cost"]) >= 0 for line in lines)


bucket_counts = st.integers(min_value=0, max_value=2_000_000)
buckets = st.builds(
    pricing.Buckets,
    input=bucket_counts,
    input_audio=bucket_counts,
    cache_read=bucket_counts,
    cache_write=bucket_counts,
    output=bucket_counts,
)


@given(buckets, prices, st.sampled_from(list(pricing.BUCKET_RATES)), st.integers(min_value=1, max_value=500_000))
def test_more_tokens_in_any_bucket_never_cost_less(b, price, bucket, more):
    # Crossing a context tier only raises rates, so this holds across tier boundaries too.
    bigger = pricing.Buckets(**(b.as_dict() | {bucket: getattr(b, bucket) + more}))
    before, _ = pricing.cost(b, price)
    after, _ = pricing.cost(bigger, price)
    assert before is not None and after is not None
    assert after >= before


@given(
    st.sampled_from(DIALECTS),
    st.integers(min_value=0, max_value=1_000_000),
    st.integers(min_value=0, max_value=1_000_000),
    st.integers(min_value=0, max_value=1_000_000),
    st.sampled_from(["prompt", "completion"]),
    st.integers(min_value=1, max_value=500_000),
    prices,
)
def test_more_reported_tokens_never_cost_less(dialect, prompt, completion, cached, which, more, price):
    def usage(prompt, completion):
        if dialect == "anthropic_messages":
            return {"input_tokens": prompt, "output_tokens": completion, "cache_read_input_tokens": cached}
        if dialect == "openai_responses":
            return {
                "input_tokens": prompt,
                "output_tokens": completion,
                "input_tokens_details": {"cached_tokens": cached},
            }
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "prompt_tokens_details": {"cached_tokens": cached},
        }

    grown = (prompt + more, completion) if which == "prompt" else (prompt, completion + more)
    before, _ = pricing.cost(pricing.buckets(usage(prompt, completion), dialect), price)
    after, _ = pricing.cost(pricing.buckets(usage(*grown), dialect), price)
    assert after >= before


@given(st.text(min_size=1, max_size=2000), st.text(max_size=2000), prices)
def test_a_stream_that_ended_without_usage_gets_an_estimated_cost_never_zero(prompt_text, output_text, price):
    tokens, total, source, lines = cost_of(None, "chat_completions", price, prompt_text, output_text)
    assert source == Completion.CostSource.ESTIMATED
    assert total is not None and total > 0
    assert lines
    # The log keeps what the gateway reported: nothing.
    assert tokens.prompt is None and tokens.completion is None


def test_an_estimate_counts_about_four_characters_a_token():
    price = {"input": "0.25", "output": "2", "tiers": []}  # gpt-5-mini
    _tokens, total, source, lines = cost_of(None, "chat_completions", price, "x" * 400, "y" * 800)
    # 400 / 4 = 100 input x 0.25 = 25 -> 0.000025; 800 / 4 = 200 output x 2 = 400 -> 0.0004
    assert (total, source) == (Decimal("0.000425"), Completion.CostSource.ESTIMATED)
    assert [(line["bucket"], line["tokens"]) for line in lines] == [("input", 100), ("output", 200)]


def test_a_stream_without_usage_or_price_is_flagged_rather_than_free():
    _tokens, total, source, _lines = cost_of(None, "chat_completions", None, "hello", "world")
    assert total is None
    assert source == Completion.CostSource.USAGE_MISSING
