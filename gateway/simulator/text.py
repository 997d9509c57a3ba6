"""Deterministic answers and token counts, and the `sim:` directives read from the request's text."""

from __future__ import annotations

import functools
import hashlib
import json
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from .models import normal

DIRECTIVE = re.compile(r"sim:(fault|ttft_ms|interval_ms|chunks|cached)=([A-Za-z0-9_.\-]+)(?:@([A-Za-z0-9_.\-]+))?")
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


def _topic_words(text: str) -> list[str]:
    return [w.lower() for w in TOPIC_WORD.findall(DIRECTIVE.sub(" ", text))][:8]


def _pieces(rng: random.Random, topic: Sequence[str]) -> Iterator[str]:
    """Endless word pieces (each with its leading separator): a sentence, a list, repeat."""
    first = True

    def word() -> str:
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
def answer_pieces(model: str, user_text: str, count: int) -> tuple[str, ...]:
    """The text deltas of an answer: the same model and user message give the same text."""
    seed = int.from_bytes(hashlib.sha256(f"{model}\n{user_text}".encode()).digest()[:8], "big")
    pieces = _pieces(random.Random(seed), _topic_words(user_text))
    return tuple(next(pieces) for _ in range(count))


def schema_instance(schema: Any) -> Any:
    """A small value that validates against a JSON schema (the simulator's structured output)."""
    if not isinstance(schema, dict):
        return None
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or "properties" in schema:
        return {key: schema_instance(sub) for key, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [schema_instance(schema.get("items") or {})] * max(1, schema.get("minItems", 1))
    if kind == "string":
        return "example"
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return max(1.5, schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    return None


def requested_schema(dialect: str, request: dict[str, Any]) -> str:
    """The JSON schema the answer must fit (chat's response_format, Responses' text.format) as
    JSON text, or "" (hashable: the frame builders are cached)."""
    if dialect == "chat_completions":
        fmt = request.get("response_format")
        holder = fmt.get("json_schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    else:
        text = request.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        holder = fmt if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None
    schema = holder.get("schema") if isinstance(holder, dict) else None
    return json.dumps(schema, sort_keys=True) if isinstance(schema, dict) else ""


def schema_pieces(schema_json: str, count: int) -> tuple[str, ...]:
    """The answer as JSON that fits the schema, in about `count` pieces."""
    text = json.dumps(schema_instance(json.loads(schema_json)))
    size = max(1, -(-len(text) // max(1, count)))
    return tuple(text[i : i + size] for i in range(0, len(text), size))


def reasoning_text(user_text: str) -> str:
    topic = " ".join(_topic_words(user_text)[:3]) or "this"
    return f"The user asks about {topic}. Answer briefly with a short list."


def message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


# An image part in each dialect's shape (docs/gateway.md, "Images"), and what one counts as.
IMAGE_PART_TYPES = {"chat_completions": "image_url", "openai_responses": "input_image", "anthropic_messages": "image"}
IMAGE_TOKENS = 85


def image_parts(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, list):
        return []
    return [p for p in content if isinstance(p, dict) and p.get("type") in IMAGE_PART_TYPES.values()]


def prompt_tokens_of(messages: Sequence[Any]) -> int:
    return max(
        1,
        sum(
            len(message_text(m.get("content"))) // 4 + 4 + IMAGE_TOKENS * len(image_parts(m.get("content")))
            for m in messages
            if isinstance(m, dict)
        ),
    )


def image_problem(dialect: str, accepts_images: bool, messages: Sequence[Any]) -> str | None:
    """Why the request's images are refused (a wrong shape for the dialect, or a text-only model), or None."""
    for message in messages:
        for part in image_parts(message.get("content") if isinstance(message, dict) else None):
            wanted = IMAGE_PART_TYPES[dialect]
            if part["type"] != wanted:
                return f'image parts on this endpoint are {{"type": "{wanted}"}}, not "{part["type"]}"'
            if not accepts_images:
                return "this model does not support image input"
            if dialect == "anthropic_messages":
                source = part.get("source")
                if not isinstance(source, dict) or source.get("type") not in ("base64", "url"):
                    return 'an image needs a "source" of type "base64" or "url"'
            elif dialect == "openai_responses" and not isinstance(part.get("image_url"), str):
                return "input_image.image_url must be a string URL"
            elif dialect == "chat_completions" and not isinstance((part.get("image_url") or {}).get("url"), str):
                return 'image_url must be an object with a "url"'
    return None


def find_directives(messages: Sequence[Any], model: str) -> dict[str, Any]:
    """Directives from every message's text that apply to `model`."""
    found: dict[str, Any] = {"fault": None, "ttft_ms": None, "interval_ms": None, "chunks": None, "cached": None}
    base = normal(model)
    for message in messages:
        if not isinstance(message, dict):
            continue
        for key, value, scope in DIRECTIVE.findall(message_text(message.get("content"))):
            if scope and normal(scope) != base:
                continue
            if key == "fault":
                found["fault"] = found["fault"] or value
            elif value.isdigit():
                found[key] = int(value)
    return found


def last_user_text(messages: Sequence[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def conversation(dialect: str, request: dict[str, Any]) -> list[Any]:
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


# Tools (docs/gateway.md, "Tools"): each dialect offers them in its own shape, and the
# simulator calls the first one offered with arguments made to fit its parameters.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _tool_fields(dialect: str, tool: Any) -> tuple[str, dict[str, Any]] | None:
    """(name, parameters schema) of a tool in the dialect's shape, or None when it is not."""
    if not isinstance(tool, dict):
        return None
    if dialect == "chat_completions":
        function = tool.get("function")
        if tool.get("type") != "function" or not isinstance(function, dict):
            return None
        name, schema = function.get("name"), function.get("parameters", {})
    elif dialect == "openai_responses":
        name, schema = tool.get("name"), tool.get("parameters", {})
        if tool.get("type") != "function":
            return None
    else:
        name, schema = tool.get("name"), tool.get("input_schema")
    if not isinstance(name, str) or not TOOL_NAME.match(name) or not isinstance(schema, dict):
        return None
    return name, schema


TOOL_SHAPES = {
    "chat_completions": '{"type": "function", "function": {"name": ..., "parameters": {...}}}',
    "openai_responses": '{"type": "function", "name": ..., "parameters": {...}}',
    "anthropic_messages": '{"name": ..., "input_schema": {...}}',
}


def tool_problem(dialect: str, request: dict[str, Any]) -> str | None:
    """Why the request's `tools` are refused (not in the dialect's shape), or None."""
    tools = request.get("tools")
    if tools is None:
        return None
    if not isinstance(tools, list):
        return "tools must be an array"
    for i, tool in enumerate(tools):
        if _tool_fields(dialect, tool) is None:
            return f"tools[{i}] on this endpoint is {TOOL_SHAPES[dialect]} with a name of letters, digits, _ and -"
    return None


def first_tool(dialect: str, request: dict[str, Any]) -> tuple[str, str] | None:
    """(name, parameters as JSON text) of the first tool the request offers, or None."""
    tools = request.get("tools")
    if not isinstance(tools, list) or not tools:
        return None
    fields = _tool_fields(dialect, tools[0])
    if fields is None:
        return None
    name, schema = fields
    return name, json.dumps(schema, sort_keys=True)


def tool_arguments(schema_json: str, count: int, limit: int | None = None) -> tuple[tuple[str, ...], bool]:
    """(argument pieces, truncated): the JSON arguments in about `count` pieces, cut to `limit`
    pieces (a max tokens below the whole, one token a piece)."""
    pieces = schema_pieces(schema_json, count)
    if limit is not None and limit < len(pieces):
        return pieces[: max(limit, 0)], True
    return pieces, False


def tool_call_id(prefix: str, model: str, user_text: str, name: str) -> str:
    return prefix + hashlib.sha256(f"{model}\n{user_text}\n{name}".encode()).hexdigest()[:24]
