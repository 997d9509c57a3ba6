"""Cost of one request from its usage and a price snapshot.

Usage objects differ by dialect (docs/gateway.md, "Usage shapes and cost"). They are first split into
exclusive buckets (every token in exactly one), then each bucket is priced at its own
rate. All arithmetic is Decimal; prices are USD per 1M tokens.
"""

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)
# The rates a price has, per 1M tokens: the one list of them (catalog, overrides, forms, snapshots).
RATE_NAMES = ("input", "output", "cache_read", "cache_write", "input_audio")

# Bucket name -> the price key it is charged at, and the fallback when that rate is unknown.
BUCKET_RATES = {
    "input": ("input", None),
    "input_audio": ("input_audio", "input"),
    "cache_read": ("cache_read", "input"),
    "cache_write": ("cache_write", "input"),
    "output": ("output", None),
}


@dataclass(frozen=True, slots=True)
class Buckets:
    input: int = 0
    input_audio: int = 0
    cache_read: int = 0
    cache_write: int = 0
    output: int = 0
    reasoning: int = 0  # informational: already inside `output`

    @property
    def prompt_size(self) -> int:
        """Tokens of the prompt, used to choose a context tier."""
        return self.input + self.input_audio + self.cache_read + self.cache_write

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in BUCKET_RATES}


@dataclass(frozen=True, slots=True)
class Tokens:
    """The four counts the request log keeps, as the gateway reported them (None = not sent)."""

    prompt: int | None
    completion: int | None
    cached: int | None
    cache_write: int | None
    reasoning: int | None


def _int(value: object) -> int | None:
    # json.loads accepts NaN and Infinity; int() of either raises, so they count as "not sent".
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return max(int(value), 0)


def _detail(usage: dict[str, Any], outer: str, inner: str) -> int | None:
    details = usage.get(outer)
    return _int(details.get(inner)) if isinstance(details, dict) else None


def tokens(usage: dict[str, Any] | None, dialect: str = "chat_completions") -> Tokens:
    """The reported counts in the request log's terms (prompt includes cache, as in OpenAI)."""
    if not usage:
        return Tokens(None, None, None, None, None)
    if dialect == "anthropic_messages":
        base = _int(usage.get("input_tokens"))
        read = _int(usage.get("cache_read_input_tokens"))
        write = _int(usage.get("cache_creation_input_tokens"))
        prompt = None if base is None and read is None and write is None else (base or 0) + (read or 0) + (write or 0)
        return Tokens(prompt, _int(usage.get("output_tokens")), read, write, None)
    if dialect == "openai_responses":
        return Tokens(
            _int(usage.get("input_tokens")),
            _int(usage.get("output_tokens")),
            _detail(usage, "input_tokens_details", "cached_tokens"),
            None,
            _detail(usage, "output_tokens_details", "reasoning_tokens"),
        )
    return Tokens(
        _int(usage.get("prompt_tokens")),
        _int(usage.get("completion_tokens")),
        _detail(usage, "prompt_tokens_details", "cached_tokens"),
        _detail(usage, "prompt_tokens_details", "cache_creation_tokens"),
        _detail(usage, "completion_tokens_details", "reasoning_tokens"),
    )


def buckets(usage: dict[str, Any] | None, dialect: str = "chat_completions") -> Buckets | None:
    """Exclusive buckets from a usage object; None when it has no token counts at all."""
    if not usage:
        return None
    if dialect == "anthropic_messages":
        # Anthropic: input_tokens excludes the cache reads and writes.
        t = tokens(usage, dialect)
        if t.prompt is None and t.completion is None:
            return None
        return Buckets(
            input=_int(usage.get("input_tokens")) or 0,
            cache_read=t.cached or 0,
            cache_write=t.cache_write or 0,
            output=t.completion or 0,
        )
    t = tokens(usage, dialect)
    if t.prompt is None and t.completion is None:
        return None
    prompt = t.prompt or 0
    # OpenAI dialects: cached (and audio) tokens are part of prompt_tokens; clamp so a
    # gateway that reports more cached than prompt tokens never yields a negative bucket.
    cache_read = min(t.cached or 0, prompt)
    cache_write = min(t.cache_write or 0, prompt - cache_read)
    details_key = "input_tokens_details" if dialect == "openai_responses" else "prompt_tokens_details"
    audio = min(_detail(usage, details_key, "audio_tokens") or 0, prompt - cache_read - cache_write)
    completion = t.completion or 0
    return Buckets(
        input=prompt - cache_read - cache_write - audio,
        input_audio=audio,
        cache_read=cache_read,
        cache_write=cache_write,
        output=completion,
        reasoning=min(t.reasoning or 0, completion),
    )


def _dec(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    return Decimal(str(value))


def rates_for(price: dict[str, Any], prompt_size: int) -> dict[str, Any]:
    """The per-1M rates that apply, with the context tier chosen by prompt size."""
    rates: dict[str, Any] = {key: _dec(price.get(key)) for key in RATE_NAMES}
    tier_label = None
    best = -1
    for tier in price.get("tiers") or ():
        size = (tier.get("tier") or {}).get("size")
        if isinstance(size, int) and prompt_size > size and size > best:
            best = size
            tier_label = f">{size:,} tokens"
            for key in rates:
                if tier.get(key) is not None:
                    rates[key] = _dec(tier[key])
    rates["tier"] = tier_label
    return rates


def cost(b: Buckets | None, price: dict[str, Any] | None) -> tuple[Decimal | None, list[dict[str, Any]]]:
    """(total, lines) for the buckets at the price; total is None when a rate is unknown."""
    if b is None or not price:
        return None, []
    rates = rates_for(price, b.prompt_size)
    lines = []
    total = Decimal(0)
    for bucket, (key, fallback) in BUCKET_RATES.items():
        count = getattr(b, bucket)
        if not count:
            continue
        rate = rates.get(key)
        if rate is None and fallback:
            rate = rates.get(fallback)
        if rate is None:
            return None, []
        amount = Decimal(count) * rate / MILLION
        total += amount
        lines.append({"bucket": bucket, "tokens": count, "rate": str(rate), "cost": str(amount), "tier": rates["tier"]})
    return total, lines


def estimate_tokens(text: str) -> int:
    """A local estimate when the gateway sent no usage: about four characters a token."""
    if not text:
        return 0
    return max(1, round(len(text) / 4))
