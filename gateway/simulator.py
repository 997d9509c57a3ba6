"""A local stand-in for Neon AI Gateway's chat completions, OpenAI Responses and Anthropic
Messages dialects (a plain ASGI app).

No real gateway is reachable from development and CI machines, so this speaks the
dialects as /work/shared/gateway-spec.md sections 2-7, 10.1, 11 and 12 describe them:
the long and short paths, the bearer `nt_live_` credential, SSE framing, the usage
chunk, the three error envelopes and the rate-limit headers. It is labelled
"simulator" wherever it shows; it is never proof that the real gateway behaves so.

Routes:
    POST /ai-gateway/mlflow/v1/chat/completions   (long, stable path)
    POST /v1/chat/completions                     (short alias; also what an OpenAI-style base .../v1 resolves to)
    POST /ai-gateway/openai/v1/responses          (+ /openai/v1/responses and /v1/responses: gpt-* but gpt-oss)
    POST /ai-gateway/anthropic/v1/messages        (+ /anthropic/v1/messages and /v1/anthropic/v1/messages: claude-*)
    GET  /v1/models                               (OpenRouter-shaped list, section 10.1)
Anything else answers 404 with a JSON error.

Answers are deterministic: the text is derived from the model id and the last user
message, one word per delta, with a little markdown (**bold** and a short list).
Token counts are deterministic too: completion = deltas (+ reasoning words for
gpt-oss), prompt ~ characters / 4 + 4 per message.

Dialect quirks reproduced:
- `stream_options.include_usage` adds a final chunk with `choices: []` and usage.
- llama* / meta-llama* models carry a cumulative usage object on every chunk instead
  (the Databricks shape) and ignore `stream_options`.
- gpt-oss-* models send `content` as an array with a reasoning part first.
- gemini-* models reject `stream_options` (400, envelope shape 2).
- Claude 4.7+, GPT-5 family and gemini-3-6-flash reject `temperature` / `top_p`
  (400 upstream BAD_REQUEST, envelope shape 3: `message` is a JSON string).
- Embedding, codex and gpt-5-5-pro models exist in /v1/models but are refused on chat.
- `databricks-<id>` aliases are accepted.
- A model on the wrong dialect: 400 `model "<id>" is not available on the <dialect> endpoint`.

Responses: named events (response.created ... response.completed, or response.incomplete
when max_output_tokens, which counts the reasoning too, cuts the text), sequence-numbered;
a reasoning item first, with response.reasoning_summary_text.delta events only when the
request sets `reasoning.summary`; usage with input_tokens_details.cached_tokens and
output_tokens_details.reasoning_tokens. Refuses temperature/top_p (GPT-5 family),
max_output_tokens < 16, store=true / previous_response_id / conversation and
service_tier "flex" (section 6).

Anthropic: message_start (usage: input_tokens, cache_creation_input_tokens,
cache_read_input_tokens, output_tokens 1), a thinking block (thinking_delta, then
signature_delta) when `thinking` is enabled, a text block, message_delta (stop_reason,
usage.output_tokens), message_stop; `ping` events as keep-alives. A prefix marked with
cache_control of 1,024+ tokens is reported as written to the cache. Refusals in
Anthropic's own envelope (section 11.1 shape 4): max_tokens missing or <= budget_tokens,
budget_tokens < 1024, temperature other than 1 with thinking, sampling parameters on
Claude 4.7+, temperature with top_p.

Directives, written anywhere in the text of any message (case-sensitive):
    sim:fault=<name>       make this request fail (names below)
    sim:ttft_ms=N          time to first content chunk, in milliseconds
    sim:interval_ms=N      time between content chunks, in milliseconds
    sim:chunks=N           number of text deltas in the answer
    sim:cached=N           report N prompt tokens as read from the cache (every dialect)
Any directive may end in `@<model>` to apply only to that model (the `databricks-`
prefix is ignored), e.g. `sim:fault=429@gpt-5-mini` fails one panel of a
multi-model run while the others stream. The first matching fault wins; for the
numeric overrides the last matching one wins.

Faults:
    401            invalid or missing credential
    403-scope      credential not authorized for ai gateway
    403-branch     credential not authorized for this branch
    403-verified   model requires a verified account
    400            upstream BAD_REQUEST (envelope shape 3)
    413            request body too large
    429            REQUEST_LIMIT_EXCEEDED (shape 2), Retry-After: 7 and X-Ratelimit-* headers
    429-short      the same with Retry-After: 1 (per-model wording)
    500            upstream model error (shape 2)
    502            upstream request failed
    503            authorization temporarily unavailable
    cut            a few chunks, then the body ends: no finish_reason, no [DONE] (no terminal event)
    malformed      a `data:` line with invalid JSON mid-stream
    error-event    a `data: {"error": {...}}` event mid-stream, then the body ends (Responses and
                   Anthropic: their own `event: error`)
    hang           the first chunk, then nothing for an hour (until the client leaves)
    no-usage       never send usage

Configuration: `create_app(...)`, or for the module-level `app` the environment:
SIMULATOR_TTFT_MS (300), SIMULATOR_INTERVAL_MS (40), SIMULATOR_CHUNKS (64 deltas;
max_tokens below that truncates with finish_reason "length"), SIMULATOR_TOKEN (accept
only this credential; unset accepts any `nt_live_` token), SIMULATOR_MODELS (comma
list of ids replacing the built-in catalog; a leading `!` lists the model as
`enabled: false` and calls to it answer 403 "model requires a verified account").

The app keeps no state besides its configuration. Frames are pre-encoded and cached
per (model, prompt, length), so hundreds of concurrent streams cost little more than
their timers. A client disconnect (`http.disconnect`) stops the stream at once.
"""

import asyncio
import base64
import functools
import hashlib
import hmac
import itertools
import json
import os
import random
import re
import uuid
from dataclasses import dataclass

LONG_CHAT_PATH = "/ai-gateway/mlflow/v1/chat/completions"
SHORT_CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
# Section 4 and 15.1: the long paths, then both short aliases the docs disagree on.
RESPONSES_PATHS = ("/ai-gateway/openai/v1/responses", "/openai/v1/responses", "/v1/responses")
MESSAGES_PATHS = ("/ai-gateway/anthropic/v1/messages", "/anthropic/v1/messages", "/v1/anthropic/v1/messages")
ROUTES = {
    LONG_CHAT_PATH: "chat_completions",
    SHORT_CHAT_PATH: "chat_completions",
    **dict.fromkeys(RESPONSES_PATHS, "openai_responses"),
    **dict.fromkeys(MESSAGES_PATHS, "anthropic_messages"),
}
RESPONSES_MIN_OUTPUT_TOKENS = 16  # section 6
ANTHROPIC_MIN_BUDGET = 1024  # Anthropic's floor for thinking.budget_tokens
ANTHROPIC_MIN_CACHEABLE = 1024  # Anthropic's shortest cacheable prefix (most models); shorter ones are not cached
ALIAS_PREFIX = "databricks-"
TOKEN_PREFIX = "nt_live_"
MAX_BODY_BYTES = 32 * 1024 * 1024  # section 4: chat bodies over 32 MiB get 413
DEFAULT_CHUNKS = 64
MAX_CHUNKS = 4096
MAX_DELAY_MS = 600_000
HANG_SECONDS = 3600
TPM_LIMIT = 200_000  # section 12: 200,000 TPM per account (Sept 2026)

# Section 10.4: the 25 models on Mastra's page, then the models "added later".
CHAT_MODELS = (
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
)
# Section 4: codex models and gpt-5-5-pro need the Responses dialect.
RESPONSES_ONLY_MODELS = ("gpt-5-3-codex", "gpt-5-2-codex", "gpt-5-1-codex-max", "gpt-5-1-codex-mini", "gpt-5-5-pro")
EMBEDDING_MODELS = ("qwen3-embedding-0-6b", "gte-large-en")
DEFAULT_MODELS = CHAT_MODELS + RESPONSES_ONLY_MODELS + EMBEDDING_MODELS

# Section 5: upstream models that refuse sampling parameters.
CLAUDE_NO_SAMPLING = ("claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-sonnet-5", "claude-fable-5")
GEMINI_NO_SAMPLING = ("gemini-3-6-flash",)
GEMINI_STREAM_OPTIONS_MESSAGE = (
    "Invalid JSON payload received. Unknown name \"stream_options\" at 'generation_config'"  # section 5, verbatim
)

DIRECTIVE = re.compile(r"sim:(fault|ttft_ms|interval_ms|chunks|cached)=([A-Za-z0-9_.\-]+)(?:@([A-Za-z0-9_.\-]+))?")
FAULTS = frozenset(
    {
        "401",
        "403-scope",
        "403-branch",
        "403-verified",
        "400",
        "413",
        "429",
        "429-short",
        "500",
        "502",
        "503",
        "cut",
        "malformed",
        "error-event",
        "hang",
        "no-usage",
    }
)

WORD_TEXT = (
    "answer gateway branch model token stream request latency context window prompt reply cache usage limit "
    "region credential compute database query index table schema vector search result cost budget minute "
    "simple clear careful quick steady useful short direct small fast reliable plain honest exact gentle "
    "check compare measure return explain choose build keep send read write show start finish retry "
    "the a each every this that your our its one two three some many few more less often usually"
)
WORDS = tuple(WORD_TEXT.split())
OPENERS = ("Here", "Sure,", "Briefly,", "Okay,", "Right,", "In short,")
TOPIC_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")


def _normal(model):
    return model[len(ALIAS_PREFIX) :] if model.startswith(ALIAS_PREFIX) else model


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _frame(payload):
    return b"data: " + _dumps(payload).encode() + b"\n\n"


# ---------------------------------------------------------------------------
# Deterministic text


def _topic_words(text):
    return [w.lower() for w in TOPIC_WORD.findall(DIRECTIVE.sub(" ", text))][:8]


def _pieces(rng, topic):
    """Endless word pieces (each with its leading separator): a sentence, a list, repeat."""
    first = True

    def word():
        if topic and rng.random() < 0.2:
            return rng.choice(topic)
        return rng.choice(WORDS)

    while True:
        size = rng.randint(6, 11)
        bold_at = rng.randrange(1, size - 1)
        for i in range(size):
            w = rng.choice(OPENERS) if i == 0 else word()
            if i == bold_at:
                w = f"**{w}**"
            if i == size - 1:
                w += "."
            yield (("" if first else "\n\n") + w) if i == 0 else " " + w
        first = False
        for item in range(rng.randint(2, 3)):
            for i in range(rng.randint(2, 4)):
                if i == 0:
                    yield ("\n\n- " if item == 0 else "\n- ") + word().capitalize()
                else:
                    yield " " + word()


@functools.lru_cache(maxsize=1024)
def answer_pieces(model, user_text, count):
    """The text deltas of an answer: the same model and user message give the same text."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\n{user_text}".encode()).digest()[:8], "big")
    pieces = _pieces(random.Random(seed), _topic_words(user_text))
    return tuple(next(pieces) for _ in range(count))


def reasoning_text(user_text):
    topic = " ".join(_topic_words(user_text)[:3]) or "this"
    return f"The user asks about {topic}. Answer briefly with a short list."


def _message_text(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def prompt_tokens_of(messages):
    return max(1, sum(len(_message_text(m.get("content"))) // 4 + 4 for m in messages if isinstance(m, dict)))


# ---------------------------------------------------------------------------
# Stream frames, built once per (model, prompt, length, options) and cached


@functools.lru_cache(maxsize=512)
def stream_frames(model, user_text, count, finish, usage_mode, prompt_tokens, cached=0):
    """(role frame, content frames, tail) as bytes.

    usage_mode: "final" (a last chunk with choices: [] and usage, OpenAI's
    include_usage), "every" (cumulative usage on every chunk, Databricks' llama
    shape) or "none".
    """
    base = _normal(model)
    pieces = answer_pieces(base, user_text, count)
    reasoning = reasoning_text(user_text) if base.startswith("gpt-oss") else ""
    reasoning_tokens = len(reasoning.split())
    chunk_id = "chatcmpl-" + hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).hexdigest()[:24]

    def usage(completion):
        if usage_mode == "every":
            return {
                "completion_tokens": completion,
                "prompt_tokens": prompt_tokens,
                "total_tokens": prompt_tokens + completion,
                "completion_tokens_details": None,
                "prompt_tokens_details": None,
            }
        return {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }

    def chunk(delta, finish_reason=None, completion=0):
        payload = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
        }
        if usage_mode == "every":
            payload["usage"] = usage(completion)
        elif usage_mode == "final":
            payload["usage"] = None  # OpenAI sends null usage on each chunk when include_usage is on
        return _frame(payload)

    role = chunk({"role": "assistant", "content": ""})
    content = []
    for i, piece in enumerate(pieces):
        if reasoning:
            parts = [{"type": "text", "text": piece}]
            if i == 0:
                parts.insert(0, {"type": "reasoning", "summary": [{"type": "summary_text", "text": reasoning}]})
            content.append(chunk({"content": parts}, completion=reasoning_tokens + i + 1))
        else:
            content.append(chunk({"content": piece}, completion=i + 1))
    completion = reasoning_tokens + count
    tail = chunk({}, finish, completion)
    if usage_mode == "final":
        tail += _frame(
            {
                "id": chunk_id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [],
                "usage": usage(completion),
            }
        )
    return role, tuple(content), tail + b"data: [DONE]\n\n"


def completion_body(model, user_text, count, finish, prompt_tokens, with_usage, cached=0):
    base = _normal(model)
    text = "".join(answer_pieces(base, user_text, count))
    reasoning = reasoning_text(user_text) if base.startswith("gpt-oss") else ""
    reasoning_tokens = len(reasoning.split())
    content = text
    if reasoning:
        content = [
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": reasoning}]},
            {"type": "text", "text": text},
        ]
    body = {
        "id": "chatcmpl-" + hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).hexdigest()[:24],
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
    }
    if with_usage:
        completion = count + reasoning_tokens
        body["usage"] = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
        }
    return _dumps(body).encode()


# ---------------------------------------------------------------------------
# OpenAI Responses and Anthropic Messages frames (sections 6 and 7)


def _event(name, payload):
    """A named SSE event, as both native dialects send them."""
    return b"event: " + name.encode() + b"\ndata: " + _dumps(payload).encode() + b"\n\n"


def _slices(text, size=3):
    """`text` in pieces of `size` words that join back to it exactly."""
    words = text.split(" ")
    return tuple(
        " ".join(words[i : i + size]) + (" " if i + size < len(words) else "") for i in range(0, len(words), size)
    )


@dataclass(frozen=True, slots=True)
class Frames:
    head: bytes  # sent at once, before the time to first token
    content: tuple  # `lead` reasoning frames, then the text frames
    lead: int
    tail: bytes
    body: bytes  # the same answer, not streamed


@functools.lru_cache(maxsize=512)
def responses_frames(model, user_text, count, incomplete, with_usage, prompt_tokens, cached, summary):
    """A Responses stream: response.created ... response.completed (or .incomplete), sequence-numbered.

    Every model here reasons: a reasoning item always comes first, and its summary is streamed
    only when the request asked for one (`reasoning.summary`), as OpenAI does.
    """
    pieces = answer_pieces(_normal(model), user_text, count)
    text = "".join(pieces)
    reasoning = reasoning_text(user_text)
    reasoning_tokens = len(reasoning.split())
    digest = hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).hexdigest()
    response_id, reasoning_id, message_id = f"resp_{digest[:24]}", f"rs_{digest[24:40]}", f"msg_{digest[40:56]}"
    sequence = itertools.count()

    def event(name, **fields):
        return _event(name, {"type": name, "sequence_number": next(sequence), **fields})

    def response(status, output, usage=None, details=None):
        return {
            "id": response_id,
            "object": "response",
            "created_at": 0,
            "status": status,
            "error": None,
            "incomplete_details": details,
            "model": model,
            "output": output,
            "store": False,
            "usage": usage,
        }

    reasoning_item = {
        "id": reasoning_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": reasoning}] if summary else [],
    }
    part = {"type": "output_text", "text": text, "annotations": []}
    message_item = {
        "id": message_id,
        "type": "message",
        "status": "incomplete" if incomplete else "completed",
        "role": "assistant",
        "content": [part],
    }
    output = [reasoning_item, message_item] if count else [reasoning_item]
    usage = None
    if with_usage:
        usage = {
            "input_tokens": prompt_tokens,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": count + reasoning_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
            "total_tokens": prompt_tokens + count + reasoning_tokens,
        }
    status = "incomplete" if incomplete else "completed"
    details = {"reason": "max_output_tokens"} if incomplete else None
    final = response(status, output, usage, details)

    head = event("response.created", response=response("in_progress", [])) + event(
        "response.in_progress", response=response("in_progress", [])
    )
    content = []
    pending = event("response.output_item.added", output_index=0, item={**reasoning_item, "summary": []})
    if summary:
        pending += event(
            "response.reasoning_summary_part.added",
            item_id=reasoning_id,
            output_index=0,
            summary_index=0,
            part={"type": "summary_text", "text": ""},
        )
        for piece in _slices(reasoning):
            fields = {"item_id": reasoning_id, "output_index": 0, "summary_index": 0, "delta": piece}
            content.append(pending + event("response.reasoning_summary_text.delta", **fields))
            pending = b""
        pending = event(
            "response.reasoning_summary_text.done",
            item_id=reasoning_id,
            output_index=0,
            summary_index=0,
            text=reasoning,
        ) + event(
            "response.reasoning_summary_part.done",
            item_id=reasoning_id,
            output_index=0,
            summary_index=0,
            part={"type": "summary_text", "text": reasoning},
        )
    pending += event("response.output_item.done", output_index=0, item=reasoning_item)
    lead = len(content)
    tail = b""
    if count:
        pending += event(
            "response.output_item.added",
            output_index=1,
            item={**message_item, "status": "in_progress", "content": []},
        ) + event(
            "response.content_part.added",
            item_id=message_id,
            output_index=1,
            content_index=0,
            part={**part, "text": ""},
        )
        for piece in pieces:
            fields = {"item_id": message_id, "output_index": 1, "content_index": 0, "delta": piece, "logprobs": []}
            content.append(pending + event("response.output_text.delta", **fields))
            pending = b""
        where = {"item_id": message_id, "output_index": 1, "content_index": 0}
        tail = (
            event("response.output_text.done", **where, text=text, logprobs=[])
            + event("response.content_part.done", **where, part=part)
            + event("response.output_item.done", output_index=1, item=message_item)
        )
    tail = pending + tail + event("response.incomplete" if incomplete else "response.completed", response=final)
    return Frames(head, tuple(content), lead, tail, _dumps(final).encode())


ANTHROPIC_PING = _event("ping", {"type": "ping"})


@functools.lru_cache(maxsize=512)
def anthropic_frames(model, user_text, count, truncated, with_usage, input_tokens, cache_read, cache_write, thinking):
    """An Anthropic stream: message_start, a thinking block when asked, a text block, message_delta, message_stop.

    Usage is split as Anthropic splits it: input and cache counts in message_start (with
    output_tokens 1), the final output_tokens in message_delta.
    """
    pieces = answer_pieces(_normal(model), user_text, count)
    reasoning = reasoning_text(user_text) if thinking else ""
    thinking_tokens = len(reasoning.split())
    digest = hashlib.sha256(f"{model}\n{user_text}\n{count}".encode()).digest()
    message_id = "msg_" + digest[:12].hex()
    signature = base64.b64encode(digest).decode()

    def event(name, **fields):
        return _event(name, {"type": name, **fields})

    usage = {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
        "output_tokens": 1,
    }
    message = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if with_usage:
        message["usage"] = usage
    head = event("message_start", message=message) + ANTHROPIC_PING
    content, blocks = [], []
    if thinking:
        slices = _slices(reasoning)
        for i, piece in enumerate(slices):
            frame = b""
            if i == 0:
                frame += event(
                    "content_block_start", index=0, content_block={"type": "thinking", "thinking": "", "signature": ""}
                )
            frame += event("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": piece})
            if i == len(slices) - 1:
                frame += event(
                    "content_block_delta", index=0, delta={"type": "signature_delta", "signature": signature}
                ) + event("content_block_stop", index=0)
            content.append(frame)
        blocks.append({"type": "thinking", "thinking": reasoning, "signature": signature})
    lead = len(content)
    index = len(blocks)
    for i, piece in enumerate(pieces):
        frame = event("content_block_start", index=index, content_block={"type": "text", "text": ""}) if i == 0 else b""
        content.append(frame + event("content_block_delta", index=index, delta={"type": "text_delta", "text": piece}))
    if count:
        blocks.append({"type": "text", "text": "".join(pieces)})
    stop_reason = "max_tokens" if truncated else "end_turn"
    delta = {"delta": {"stop_reason": stop_reason, "stop_sequence": None}}
    if with_usage:
        delta["usage"] = {"output_tokens": count + thinking_tokens}
    tail = (event("content_block_stop", index=index) if count else b"") + event("message_delta", **delta)
    tail += event("message_stop")
    final = {**message, "content": blocks, "stop_reason": stop_reason}
    if with_usage:
        final["usage"] = {**usage, "output_tokens": count + thinking_tokens}
    return Frames(head, tuple(content), lead, tail, _dumps(final).encode())


def _cache_write_tokens(messages):
    """Prompt tokens up to the last block marked with cache_control, as a first call writes them.

    The simulator keeps no state, so it never knows a prefix is already cached; `sim:cached=N`
    reports reads instead.
    """
    last = None
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("cache_control") for p in content):
            last = i
    if last is None:
        return 0
    prefix = prompt_tokens_of(messages[: last + 1])
    return prefix if prefix >= ANTHROPIC_MIN_CACHEABLE else 0


# ---------------------------------------------------------------------------
# The model list (section 10.1)

PROVIDERS = (
    ("claude", "anthropic", "Claude"),
    ("gpt", "openai", "GPT"),
    ("gemini", "google", "Gemini"),
    ("gemma", "google", "Gemini"),
    ("llama", "meta", "Llama4"),
    ("meta-llama", "meta", "Llama3"),
    ("qwen", "alibaba", "Qwen"),
    ("gte", "alibaba", "Other"),
    ("glm", "zhipuai", "Other"),
    ("inkling", "thinkingmachines", "Other"),
    ("kimi", "moonshotai", "Other"),
)
UPPER_WORDS = {"gpt": "GPT", "oss": "OSS", "glm": "GLM", "gte": "GTE", "en": "EN"}


def display_name(model_id):
    """ "gpt-5-4-mini" -> "GPT-5.4 Mini", "claude-sonnet-4-5" -> "Claude Sonnet 4.5"."""
    words = []
    for part in model_id.split("-"):
        if part.isdigit() and words and words[-1][-1:].isdigit():
            words[-1] += "." + part
        elif part.isdigit() and words == ["GPT"]:
            words[-1] += "-" + part
        else:
            words.append(
                UPPER_WORDS.get(part, part.upper() if part[-1:] == "b" and part[:-1].isdigit() else part.title())
            )
    return " ".join(words)


def model_entry(model_id, enabled=True):
    owner, tokenizer = "other", "Other"
    for prefix, provider, tok in PROVIDERS:
        if model_id.startswith(prefix):
            owner, tokenizer = provider, tok
    if model_id in EMBEDDING_MODELS:
        inputs, outputs = ["text"], ["embeddings"]
    elif model_id.startswith("gemini"):
        inputs, outputs = ["text", "image", "audio", "video", "file"], ["text"]
    elif model_id.startswith("claude"):
        inputs, outputs = ["text", "image", "file"], ["text"]
    elif model_id.startswith("gpt-5"):
        inputs, outputs = ["text", "image"], ["text", "image"]
    else:
        inputs, outputs = ["text"], ["text"]
    return {
        "id": model_id,
        "canonical_slug": model_id,
        "name": display_name(model_id),
        "object": "model",
        "owned_by": owner,
        "created": 0,
        "enabled": enabled,
        "context_length": None,
        "architecture": {
            "modality": "+".join(inputs) + "->" + "+".join(outputs),
            "input_modalities": inputs,
            "output_modalities": outputs,
            "tokenizer": tokenizer,
            "instruct_type": None,
        },
        "top_provider": {"is_moderated": False, "context_length": None, "max_completion_tokens": None},
        "pricing": None,
        "per_request_limits": None,
    }


# ---------------------------------------------------------------------------
# Errors (section 11.1 envelope shapes)


def _shape1(message, **extra):
    return _dumps({"error": {"message": message, **extra}}).encode()


def _shape2(code, message):
    return _dumps({"error_code": code, "message": message}).encode()


def _shape3(inner):
    return _dumps({"error_code": "BAD_REQUEST", "message": _dumps(inner)}).encode()


def _shape4(message, kind="invalid_request_error"):
    """Anthropic's own envelope, what Anthropic clients expect on the native route (section 11.1, shape 4)."""
    return _dumps({"type": "error", "error": {"type": kind, "message": message}}).encode()


def _rate_limit_headers(remaining_tokens, reset):
    return [
        (b"x-ratelimit-limit-requests", b"1000"),
        (b"x-ratelimit-remaining-requests", b"999"),
        (b"x-ratelimit-reset-requests", reset),
        (b"x-ratelimit-limit-tokens", str(TPM_LIMIT).encode()),
        (b"x-ratelimit-remaining-tokens", str(remaining_tokens).encode()),
        (b"x-ratelimit-reset-tokens", reset),
    ]


def fault_response(fault, model):
    """(status, body, extra headers) of an HTTP-level fault."""
    if fault == "401":
        return 401, _shape1("invalid or missing credential"), []
    if fault == "403-scope":
        return 403, _shape1("credential not authorized for ai gateway"), []
    if fault == "403-branch":
        return 403, _shape1("credential not authorized for this branch"), []
    if fault == "403-verified":
        return 403, _shape1("model requires a verified account"), []
    if fault == "400":
        inner = {
            "error": {
                "message": "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got 0 instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "integer_below_min_value",
            }
        }
        return 400, _shape3(inner), []
    if fault == "413":
        return 413, _shape1("request body too large"), []
    if fault == "429":
        message = (
            f"ai gateway account token rate limit exceeded ({TPM_LIMIT} tokens per minute across all models in "
            "this region). Retry after the window resets, or contact Support to raise the limit."
        )
        return 429, _shape2("REQUEST_LIMIT_EXCEEDED", message), [(b"retry-after", b"7")] + _rate_limit_headers(0, b"7s")
    if fault == "429-short":
        message = (
            f'ai gateway token rate limit exceeded for model "{model}" ({TPM_LIMIT} tokens per minute in this '
            "region). Retry after the window resets."
        )
        return 429, _shape2("REQUEST_LIMIT_EXCEEDED", message), [(b"retry-after", b"1")] + _rate_limit_headers(0, b"1s")
    if fault == "500":
        return 500, _shape2("INTERNAL_ERROR", "ai gateway upstream model error. Retry later"), []
    if fault == "502":
        return 502, _shape1("upstream request failed"), []
    if fault == "503":
        return 503, _shape1("authorization temporarily unavailable"), []
    return None


ERROR_EVENT = _frame(
    {
        "error": {
            "message": "ai gateway upstream model endpoint timed out. Retry, or reduce the input size",
            "code": "UPSTREAM_TIMEOUT",
        }
    }
)
MALFORMED_EVENT = b'data: {"id":"chatcmpl-broken","object":"chat.completion.chunk","choices":[{"delta":{"content":"\n\n'
KEEP_ALIVE = b": keep-alive\n\n"
KEEP_ALIVE_EVERY = 16
# Mid-stream failures in each native dialect's own event shape.
RESPONSES_ERROR_EVENT = _event(
    "error",
    {
        "type": "error",
        "code": "server_error",
        "message": "ai gateway upstream model endpoint timed out. Retry, or reduce the input size",
        "param": None,
    },
)
RESPONSES_MALFORMED_EVENT = (
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"\n\n'
)
ANTHROPIC_ERROR_EVENT = _event(
    "error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
)
ANTHROPIC_MALFORMED_EVENT = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\n\n'


# ---------------------------------------------------------------------------
# The app


def _int_env(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def config_from_env():
    """create_app keyword arguments from SIMULATOR_* environment variables."""
    models = [m.strip() for m in os.environ.get("SIMULATOR_MODELS", "").split(",") if m.strip()]
    return {
        "ttft_ms": _int_env("SIMULATOR_TTFT_MS", 300),
        "interval_ms": _int_env("SIMULATOR_INTERVAL_MS", 40),
        "chunks": _int_env("SIMULATOR_CHUNKS", None),
        "token": os.environ.get("SIMULATOR_TOKEN") or None,
        "models": models or None,
    }


def _directives(messages, model):
    """Directives from every message's text that apply to `model`."""
    found = {"fault": None, "ttft_ms": None, "interval_ms": None, "chunks": None, "cached": None}
    base = _normal(model)
    for message in messages:
        if not isinstance(message, dict):
            continue
        for key, value, scope in DIRECTIVE.findall(_message_text(message.get("content"))):
            if scope and _normal(scope) != base:
                continue
            if key == "fault":
                found["fault"] = found["fault"] or value
            elif value.isdigit():
                found[key] = int(value)
    return found


def _last_user_text(messages):
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _message_text(message.get("content"))
    return ""


def _conversation(dialect, request):
    """The request's turns as chat-style messages, the system prompt first: for directives and token counts."""
    if dialect == "chat_completions":
        messages = request.get("messages")
        return messages if isinstance(messages, list) else []
    if dialect == "openai_responses":
        items, system = request.get("input"), request.get("instructions")
        if isinstance(items, str):
            items = [{"role": "user", "content": items}]
    else:
        items, system = request.get("messages"), request.get("system")
    items = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    return ([{"role": "system", "content": system}] if system else []) + items


def _serves(dialect, base):
    """Section 4: which models each dialect accepts."""
    if dialect == "openai_responses":
        # OpenAI's own gpt-* models; gpt-oss runs on Databricks and is chat only (the catalog agrees).
        return base.startswith("gpt-") and not base.startswith("gpt-oss")
    if dialect == "anthropic_messages":
        return base.startswith("claude-")
    return base not in EMBEDDING_MODELS and base not in RESPONSES_ONLY_MODELS


def _unsupported(param):
    inner = {
        "error": {
            "message": f"Unsupported parameter: '{param}' is not supported with this model.",
            "type": "invalid_request_error",
            "param": param,
            "code": "unsupported_parameter",
        }
    }
    return _shape3(inner)


def _reject_responses(base, request, messages):
    """Upstream 400s of the Responses dialect (section 6); None when the request is acceptable."""
    if not messages:
        inner = {
            "error": {
                "message": "Missing required parameter: 'input'.",
                "type": "invalid_request_error",
                "param": "input",
                "code": "missing_required_parameter",
            }
        }
        return _shape3(inner)
    # The gateway is stateless. The wording of this refusal is the simulator's own: Neon does not publish it.
    for key in ("previous_response_id", "conversation"):
        if request.get(key):
            return _shape1(f"{key} is not supported: the ai gateway does not store responses")
    if request.get("store") is True:
        return _shape1("store=true is not supported: the ai gateway does not store responses")
    if request.get("service_tier") == "flex":
        return _shape2("BAD_REQUEST", "service_tier 'flex' is not supported by Databricks")
    limit = request.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < RESPONSES_MIN_OUTPUT_TOKENS):
        inner = {
            "error": {
                "message": (
                    "Invalid 'max_output_tokens': integer below minimum value. "
                    f"Expected a value >= {RESPONSES_MIN_OUTPUT_TOKENS}, but got {limit} instead."
                ),
                "type": "invalid_request_error",
                "param": "max_output_tokens",
                "code": "integer_below_min_value",
            }
        }
        return _shape3(inner)
    # Every model on this route is a GPT-5 reasoning model: no sampling parameters (section 5).
    for param in ("temperature", "top_p"):
        if request.get(param) is not None:
            return _unsupported(param)
    return None


def _reject_anthropic(base, request, messages):
    """Anthropic's 400s (section 7), in Anthropic's envelope; None when the request is acceptable."""
    max_tokens = request.get("max_tokens")
    if max_tokens is None:
        return _shape4("max_tokens: Field required")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        return _shape4("max_tokens: Input should be greater than or equal to 1")
    if not any(m.get("role") in ("user", "assistant") for m in messages):
        return _shape4("messages: Field required")
    sampling = [p for p in ("temperature", "top_p") if request.get(p) is not None]
    thinking = request.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, bool) or not isinstance(budget, int):
            return _shape4("thinking.enabled.budget_tokens: Field required")
        if budget < ANTHROPIC_MIN_BUDGET:
            return _shape4(
                f"thinking.enabled.budget_tokens: Input should be greater than or equal to {ANTHROPIC_MIN_BUDGET}"
            )
        if max_tokens <= budget:
            return _shape4(
                "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )
        # Anthropic allows only the default temperature (1) with thinking on.
        if request.get("temperature") not in (None, 1):
            return _shape4(
                "`temperature` may only be set to 1 when thinking is enabled. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility"
            )
    if sampling and base in CLAUDE_NO_SAMPLING:
        return _shape4(f"{base} does not support the {sampling[0]} parameter")
    if len(sampling) == 2:
        return _shape4("temperature and top_p cannot both be specified for this model. Please use only one.")
    return None


async def _emit(send, frames, offset, interval, keep_alive=None):
    """Send content frames `interval` seconds apart, with a keep-alive now and then."""
    keep_alive = KEEP_ALIVE if keep_alive is None else keep_alive
    for i, frame in enumerate(frames, offset):
        if i:
            if interval:
                await asyncio.sleep(interval)
            if i % KEEP_ALIVE_EVERY == 0:
                frame = keep_alive + frame
        await send({"type": "http.response.body", "body": frame, "more_body": True})


async def _until_disconnect(coro, receive):
    """Run coro, cancelling it as soon as the client goes away."""
    work = asyncio.ensure_future(coro)

    async def watch():
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    watcher = asyncio.ensure_future(watch())
    try:
        await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (work, watcher):
            task.cancel()
    if work.done() and not work.cancelled():
        work.result()


class Simulator:
    def __init__(self, *, ttft_ms=300, interval_ms=40, chunks=None, token=None, models=None):
        self.ttft_ms = ttft_ms
        self.interval_ms = interval_ms
        self.chunks = chunks
        self.token = token
        entries = []
        self.enabled = {}
        for raw in models if models is not None else DEFAULT_MODELS:
            model_id = raw.strip()
            enabled = not model_id.startswith("!")
            model_id = model_id.lstrip("!")
            if model_id:
                self.enabled[model_id] = enabled
                entries.append(model_entry(model_id, enabled))
        self.models_body = _dumps({"object": "list", "data": entries}).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request_id = uuid.uuid4().hex
        path = scope["path"].rstrip("/") or "/"
        method = scope["method"]
        if path not in ROUTES and path != MODELS_PATH:
            return await self._reply(send, 404, _shape1(f"no route for {method} {path}"), request_id)
        wanted = "GET" if path == MODELS_PATH else "POST"
        if method != wanted:
            return await self._reply(send, 405, _shape1(f"method {method} not allowed on {path}"), request_id)
        if not self._authorized(scope):
            return await self._reply(send, 401, _shape1("invalid or missing credential"), request_id)
        if path == MODELS_PATH:
            return await self._reply(send, 200, self.models_body, request_id)

        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY_BYTES:
                return await self._reply(send, 413, _shape1("request body too large"), request_id)
            if not message.get("more_body"):
                break
        await _until_disconnect(self._generate(ROUTES[path], bytes(body), send, request_id), receive)

    def _authorized(self, scope):
        header = b""
        for name, value in scope["headers"]:
            if name.lower() == b"authorization":
                header = value
                break
        scheme, _, credential = header.decode("latin-1").partition(" ")
        credential = credential.strip()
        if (
            scheme.lower() != "bearer"
            or not credential.startswith(TOKEN_PREFIX)
            or len(credential) <= len(TOKEN_PREFIX)
        ):
            return False
        return self.token is None or hmac.compare_digest(credential.encode(), self.token.encode())

    async def _reply(self, send, status, body, request_id, headers=()):
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id.encode()),
                    *headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _generate(self, dialect, raw, send, request_id):
        try:
            request = json.loads(raw)
        except ValueError:
            return await self._reply(send, 400, _shape1("invalid request body: not JSON"), request_id)
        if not isinstance(request, dict):
            return await self._reply(send, 400, _shape1("invalid request body: not a JSON object"), request_id)
        model = request.get("model")
        messages = _conversation(dialect, request)
        directives = _directives(messages, model if isinstance(model, str) else "")

        fault = directives["fault"]
        if fault is not None and fault not in FAULTS:
            return await self._reply(send, 400, _shape1(f'simulator: unknown fault "{fault}"'), request_id)
        if fault in ("401", "403-scope", "403-branch", "503"):  # auth faults come before model checks
            status, body, headers = fault_response(fault, model)
            return await self._reply(send, status, body, request_id, headers)

        if not isinstance(model, str) or not model:
            return await self._reply(
                send, 400, _shape1("missing or invalid model", type="invalid_request_error"), request_id
            )
        base = _normal(model)
        if base not in self.enabled:
            message = f'unknown model "{model}"'
            body = _shape1(message, type="invalid_request_error", code="invalid_model")
            return await self._reply(send, 400, body, request_id)
        if not _serves(dialect, base):
            message = f'model "{model}" is not available on the {dialect} endpoint'
            return await self._reply(send, 400, _shape1(message, type="invalid_request_error"), request_id)
        if not self.enabled[base]:
            return await self._reply(send, 403, _shape1("model requires a verified account"), request_id)
        if fault is not None:
            response = fault_response(fault, model)
            if response is not None:
                status, body, headers = response
                return await self._reply(send, status, body, request_id, headers)

        reject = {
            "chat_completions": self._reject_parameters,
            "openai_responses": _reject_responses,
            "anthropic_messages": _reject_anthropic,
        }[dialect]
        rejection = reject(base, request, messages)
        if rejection is not None:
            return await self._reply(send, 400, rejection, request_id)

        natural = directives["chunks"] if directives["chunks"] is not None else (self.chunks or DEFAULT_CHUNKS)
        natural = max(1, min(natural, MAX_CHUNKS))
        ttft = self.ttft_ms if directives["ttft_ms"] is None else directives["ttft_ms"]
        interval = self.interval_ms if directives["interval_ms"] is None else directives["interval_ms"]
        ttft = min(ttft, MAX_DELAY_MS) / 1000
        interval = min(interval, MAX_DELAY_MS) / 1000
        user_text = _last_user_text(messages)
        prompt_tokens = prompt_tokens_of(messages)
        cached = min(directives["cached"] or 0, prompt_tokens)
        rate_headers = _rate_limit_headers(max(0, TPM_LIMIT - prompt_tokens), b"0s")
        stream = bool(request.get("stream"))
        with_usage = fault != "no-usage"

        if dialect == "chat_completions":
            max_tokens = request.get("max_tokens") or request.get("max_completion_tokens")
            count, finish = natural, "stop"
            if isinstance(max_tokens, int) and max_tokens < natural:
                count, finish = max_tokens, "length"
            if not stream:
                frames = Frames(
                    b"", (), 0, b"", completion_body(model, user_text, count, finish, prompt_tokens, with_usage, cached)
                )
            else:
                if base.startswith(("llama", "meta-llama")):
                    usage_mode = "every"
                elif isinstance(request.get("stream_options"), dict) and request["stream_options"].get("include_usage"):
                    usage_mode = "final"
                else:
                    usage_mode = "none"
                if fault == "no-usage":
                    usage_mode = "none"
                role, content, tail = stream_frames(model, user_text, count, finish, usage_mode, prompt_tokens, cached)
                frames = Frames(role + KEEP_ALIVE, content, 0, tail, b"")
            extras = (ERROR_EVENT, MALFORMED_EVENT, KEEP_ALIVE)
        elif dialect == "openai_responses":
            # max_output_tokens covers the reasoning too: a tight limit leaves less (or no) text.
            limit = request.get("max_output_tokens")
            room = natural if limit is None else limit - len(reasoning_text(user_text).split())
            count, incomplete = (natural, False) if room >= natural else (max(room, 0), True)
            reasoning = request.get("reasoning")
            summary = isinstance(reasoning, dict) and reasoning.get("summary") in ("auto", "concise", "detailed")
            frames = responses_frames(model, user_text, count, incomplete, with_usage, prompt_tokens, cached, summary)
            extras = (RESPONSES_ERROR_EVENT, RESPONSES_MALFORMED_EVENT, KEEP_ALIVE)
        else:
            thinking = isinstance(request.get("thinking"), dict) and request["thinking"].get("type") == "enabled"
            room = request["max_tokens"] - (len(reasoning_text(user_text).split()) if thinking else 0)
            count, truncated = (natural, False) if room >= natural else (max(room, 0), True)
            # Anthropic's input_tokens excludes the cache reads and writes (section 10.5).
            cache_write = 0 if cached else min(_cache_write_tokens(messages), prompt_tokens)
            input_tokens = prompt_tokens - cached - cache_write
            frames = anthropic_frames(
                model, user_text, count, truncated, with_usage, input_tokens, cached, cache_write, thinking
            )
            extras = (ANTHROPIC_ERROR_EVENT, ANTHROPIC_MALFORMED_EVENT, ANTHROPIC_PING)

        if not stream:
            await asyncio.sleep(ttft + interval * max(count, len(frames.content)))
            if fault == "hang":
                await asyncio.sleep(HANG_SECONDS)
            if fault == "error-event":
                status, body, headers = fault_response("500", model)
                return await self._reply(send, status, body, request_id, headers)
            body = frames.body
            if fault in ("cut", "malformed"):
                body = body[: len(body) // 2]
            return await self._reply(send, 200, body, request_id, rate_headers)
        await self._stream(send, request_id, rate_headers, frames, extras, fault, ttft, interval)

    async def _stream(self, send, request_id, rate_headers, frames, extras, fault, ttft, interval):
        error_event, malformed_event, keep_alive = extras
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-request-id", request_id.encode()),
                    *rate_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": frames.head, "more_body": True})
        if fault == "hang":
            await asyncio.sleep(HANG_SECONDS)
            return await send({"type": "http.response.body", "body": b""})
        content = frames.content
        # A mid-stream fault strikes after a few text deltas (or after all of them in a short answer).
        split = None
        if fault in ("cut", "malformed", "error-event"):
            split = frames.lead + min(3 if fault == "cut" else 2, len(content) - frames.lead)
        await asyncio.sleep(ttft)
        await _emit(send, content[:split], 0, interval, keep_alive)
        if fault == "cut":  # the body ends with no finish and no terminal event
            return await send({"type": "http.response.body", "body": b""})
        if fault == "error-event":
            return await send({"type": "http.response.body", "body": error_event})
        if fault == "malformed":
            await send({"type": "http.response.body", "body": malformed_event, "more_body": True})
            await _emit(send, content[split:], split, interval, keep_alive)
        await send({"type": "http.response.body", "body": frames.tail})

    def _reject_parameters(self, base, request, messages):
        if not messages:
            return _shape2("BAD_REQUEST", "messages must be a non-empty array")
        if base.startswith("gemini") and "stream_options" in request:
            return _shape2("BAD_REQUEST", GEMINI_STREAM_OPTIONS_MESSAGE)
        max_tokens = request.get("max_tokens")
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            return fault_response("400", base)[1]
        sampling = [p for p in ("temperature", "top_p") if request.get(p) is not None]
        if not sampling:
            return None
        param = sampling[0]
        if base in CLAUDE_NO_SAMPLING:
            inner = {
                "type": "error",
                "error": {"type": "invalid_request_error", "message": f"{base} does not support the {param} parameter"},
            }
            return _shape3(inner)
        if base.startswith("claude") and len(sampling) == 2:
            message = "temperature and top_p cannot both be specified for this model. Please use only one."
            return _shape3({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
        if base.startswith("gpt-5") or base in GEMINI_NO_SAMPLING:
            return _unsupported(param)
        return None


def create_app(*, ttft_ms=300, interval_ms=40, chunks=None, token=None, models=None):
    """An ASGI app simulating one branch's gateway host (see the module docstring)."""
    return Simulator(ttft_ms=ttft_ms, interval_ms=interval_ms, chunks=chunks, token=token, models=models)


app = create_app(**config_from_env())
